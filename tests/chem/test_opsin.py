"""OPSIN per batch and kept running: the same answers, in order, whatever happens to the JVM."""

from __future__ import annotations

import os
import signal
from concurrent.futures import ThreadPoolExecutor

from precursorwatch.chem.opsin import OpsinProcess, names_to_smiles
from precursorwatch.chem.structure import from_smiles

NAMES = ["2-methylpropan-2-ol", "not a chemical name at all", "benzenamine",
         "tert-butyl 4-oxopiperidine-1-carboxylate", "", "ethan\nol", "1-phenylethan-1-one"]


def keys(smiles: list[str | None]) -> list[str | None]:
    return [from_smiles(s).inchikey if s else None for s in smiles]


def test_a_running_process_answers_like_a_batch_one_name_at_a_time() -> None:
    batch = names_to_smiles(NAMES)
    assert batch[1] is None and batch[4] is None and batch[0] is not None
    opsin = OpsinProcess()
    try:
        one_by_one = [opsin([n])[0] for n in NAMES]
        assert keys(one_by_one) == keys(batch)
        assert keys(opsin(NAMES)) == keys(batch)  # and as a batch
        first = opsin.pid
        assert first is not None
        opsin(["benzene"])
        assert opsin.pid == first  # still the same JVM
    finally:
        opsin.close()
    assert opsin.pid is None


def test_a_dead_or_stuck_process_is_replaced() -> None:
    opsin = OpsinProcess()
    try:
        assert opsin(["benzene"])[0] is not None
        killed = opsin.pid
        assert killed is not None
        os.kill(killed, signal.SIGKILL)
        assert keys(opsin(["benzenamine"])) == keys(names_to_smiles(["benzenamine"]))
        assert opsin.pid not in (None, killed)
        opsin.timeout = 1e-6  # no answer can come this fast
        assert opsin(["propan-2-ol"]) == [None]
        assert opsin.pid is None  # given up on, not left behind
        opsin.timeout = 30
        assert opsin(["propan-2-ol"])[0] is not None
    finally:
        opsin.close()


def test_threads_share_one_process_without_mixing_answers() -> None:
    opsin = OpsinProcess()
    names = ["methanol", "ethanol", "propan-1-ol", "butan-1-ol", "pentan-1-ol"] * 4
    try:
        with ThreadPoolExecutor(max_workers=5) as pool:
            answers = list(pool.map(lambda n: opsin([n])[0], names))
        assert keys(answers) == keys(names_to_smiles(names))
    finally:
        opsin.close()
