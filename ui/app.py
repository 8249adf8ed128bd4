"""The page: a Gradio Blocks layout (chat left; player and sources right) wired to `ui.chat.Chat`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

import rag

from . import render
from .chat import MAX_K, MAX_QUESTION_CHARS, Chat, Messages, example_questions
from .static import CHIP_JS, CSS

HEADER = (
    '<div class="lectern-title"><h1>Lectern</h1>'
    "<p>Ask the lectures. Every answer cites the second it was said.</p></div>"
)


SESSIONS = 1000


def launch_options() -> dict[str, Any]:
    """launch() arguments for everything that serves this app (python -m ui and the tests): only the API
    link in the footer, no monitoring dashboard, no MCP server, no SSR, and the built-in upload route
    refuses files, since the app takes none."""
    return {
        "footer_links": ["api"],
        "enable_monitoring": False,
        "mcp_server": False,
        "ssr_mode": False,
        "pwa": False,
        "max_file_size": 0,
        # Gradio keeps each session's component values for its 10,000 most recent sessions by default:
        # with a new session per chat that grew the server ~90 MB per 1,000 chats. 1,000 live sessions
        # is a large class; an older idle session only loses its follow-up context.
        "state_session_capacity": SESSIONS,
        # System fonts: the stock themes fetch Google Fonts, a third-party request on every page view.
        "theme": gr.themes.Soft(
            primary_hue="indigo",
            neutral_hue="slate",
            font=["ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "Roboto", "sans-serif"],
            font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"],
        ),
    }


@dataclass
class Widgets:
    status: Any
    chatbot: Any
    box: Any
    ask: Any
    new: Any
    videos: Any
    k: Any
    sources: Any
    asked: Any


def build_app(lectern: rag.Lectern) -> gr.Blocks:
    """The whole UI. Nothing runs at import time; `python -m ui` calls this once and launches the result."""
    try:
        indexed = [vid for vid, _ in lectern.videos()]
    except rag.LecternError:
        indexed = []
    with gr.Blocks(title="Lectern", analytics_enabled=False, fill_width=True) as app:
        asked = gr.State([])  # this session's earlier questions, oldest first: the follow-up context
        with gr.Row(equal_height=True):
            gr.HTML(HEADER, js_on_load=None, scale=1)
            status = gr.HTML(
                render.status_error("Loading…"), js_on_load=None, elem_id="lectern-status", scale=2
            )
        with gr.Row(equal_height=False):
            with gr.Column(scale=11, min_width=420):
                chatbot, box, ask, new, videos, k = _chat_column(indexed, lectern.settings.k)
            with gr.Column(scale=9, min_width=360):
                # The player carries the page's stylesheet and its one script (see ui/static.py).
                gr.HTML(
                    render.player(),
                    elem_id=render.PLAYER_ID,
                    js_on_load=CHIP_JS,
                    head=f"<style>{CSS}</style>",
                )
                sources = gr.HTML(render.sources_panel(None), js_on_load=None, elem_id="lectern-sources")
        _wire(app, Chat(lectern), Widgets(status, chatbot, box, ask, new, videos, k, sources, asked))
    return app


def _chat_column(indexed: list[str], default_k: int) -> tuple[Any, ...]:
    chatbot = gr.Chatbot(
        elem_id="lectern-chat", height=540, show_label=False, render_markdown=False, sanitize_html=True,
        latex_delimiters=[], feedback_options=None, buttons=[],
        placeholder="Ask a question about the indexed lectures.",
        examples=[{"text": q} for q in example_questions(indexed)],
    )  # fmt: skip
    with gr.Row():
        box = gr.Textbox(
            placeholder="Ask about the lectures…", show_label=False, scale=8, max_lines=4,
            max_length=MAX_QUESTION_CHARS, autofocus=True, elem_id="lectern-question",
        )  # fmt: skip
        ask = gr.Button("Ask", variant="primary", scale=1, min_width=80, elem_id="lectern-ask")
        new = gr.Button("New chat", scale=1, min_width=120, elem_id="lectern-new")
    with gr.Accordion("Search options", open=False):
        videos = gr.Dropdown(
            choices=[], value=[], multiselect=True, label="Only these lectures (empty: all)",
            elem_id="lectern-filter",
        )  # fmt: skip
        k = gr.Slider(1, MAX_K, value=min(default_k, MAX_K), step=1, label="Moments to retrieve (top-k)")
    return chatbot, box, ask, new, videos, k


def _wire(app: gr.Blocks, chat: Chat, w: Widgets) -> None:
    # UI events are private: the one public endpoint is /ask (gr.api below), for gradio_client.
    ask = dict(
        fn=chat.respond, inputs=[w.box, w.chatbot, w.asked, w.k, w.videos],
        outputs=[w.chatbot, w.sources, w.box, w.asked], api_visibility="private", show_progress="minimal",
    )  # fmt: skip
    w.box.submit(**ask)
    w.ask.click(**ask)
    w.chatbot.example_select(_example_text, outputs=w.box, api_visibility="private", queue=False).then(**ask)

    def new_chat() -> tuple[Messages, list[str], str, str]:
        return [], [], render.sources_panel(None), ""

    reset = dict(
        fn=new_chat, outputs=[w.chatbot, w.asked, w.sources, w.box], api_visibility="private", queue=False
    )
    w.new.click(**reset)
    w.chatbot.clear(**reset)
    app.load(chat.status, outputs=[w.status, w.videos], api_visibility="private")
    gr.api(chat.ask_api, api_name="ask")


def _example_text(selected: gr.SelectData) -> str:
    value = selected.value
    return str(value.get("text", "")) if isinstance(value, dict) else str(value or "")
