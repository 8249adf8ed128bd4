"""Lectern's chat UI (Gradio). Import `ui.app.build_app`; `python -m ui` serves it.

Importing this package imports nothing else: Gradio loads only when the app is built.
"""
