"""The HTTP service and web page of ``unrated serve`` (FastAPI + uvicorn)."""
