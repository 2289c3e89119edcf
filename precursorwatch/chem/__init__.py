"""Text to structure: CAS numbers, names, SMILES, InChI; standardisation with RDKit.

Nothing here knows of control lists.
"""
