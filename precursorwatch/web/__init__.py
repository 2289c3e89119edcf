"""The analysts' web app: server-rendered pages over the exchange's services (Contract 4)."""
