"""`python -m ui`: serve the chat on RAG_UI_HOST:RAG_UI_PORT (127.0.0.1:7860 by default)."""

from __future__ import annotations

import os
import sys


def main() -> int:
    # Before Gradio is imported: it reads this at import and would otherwise phone home.
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    import rag

    try:
        settings = rag.load_settings()
        lectern = rag.Lectern(settings)
        print(f"Loading the embedding model and the index at {settings.store_location} …", file=sys.stderr)
        lectern.warm_up()
    except rag.LecternError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code

    from .app import build_app, launch_options

    app = build_app(lectern)
    try:
        app.queue(default_concurrency_limit=settings.ui_concurrency, max_size=settings.ui_max_queue).launch(
            server_name=settings.ui_host,
            server_port=settings.ui_port,
            share=settings.ui_share,
            **launch_options(),
        )
    except OSError as exc:  # typically the port is taken
        print(f"error: cannot serve on {settings.ui_host}:{settings.ui_port}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
