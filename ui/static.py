"""The page's only script and stylesheet, as strings handed to Gradio (no files served of our own)."""

from __future__ import annotations

from .render import FRAME_ID, NOW_PLAYING_ID

# One delegated listener for every chip, present and future: chat messages are re-rendered by Gradio, so
# per-element handlers would be lost. Runs as the player's js_on_load; the flag keeps it to one listener.
# Only hrefs this app builds are honoured, and the embed URL is rebuilt from the validated parts.
CHIP_JS = f"""
if (!window.__lecternChips) {{
  window.__lecternChips = true;
  const WATCH = /^https:\\/\\/www\\.youtube\\.com\\/watch\\?v=([A-Za-z0-9_-]{{11}})&t=(\\d{{1,7}})s$/;
  const clock = (s) => {{
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = String(s % 60).padStart(2, "0");
    return h ? `${{h}}:${{String(m).padStart(2, "0")}}:${{sec}}` : `${{m}}:${{sec}}`;
  }};
  document.addEventListener("click", (ev) => {{
    if (ev.button !== 0 || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.altKey) return;
    const a = ev.target instanceof Element ? ev.target.closest("a.lectern-chip") : null;
    if (!a) return;
    const m = WATCH.exec(a.getAttribute("href") || "");
    const frame = document.getElementById("{FRAME_ID}");
    if (!m || !frame) return;
    ev.preventDefault();
    ev.stopPropagation();
    const start = parseInt(m[2], 10);
    frame.src = "https://www.youtube-nocookie.com/embed/" + m[1] + "?start=" + start + "&autoplay=1";
    const box = frame.closest(".lectern-player-box");
    if (box) box.classList.add("playing");
    const now = document.getElementById("{NOW_PLAYING_ID}");
    if (now) now.textContent = "Playing from " + clock(start) + " · " + (a.getAttribute("title") || "")
      .replace(/^Play “(.*)” from .*$/, "$1");
    frame.scrollIntoView({{block: "nearest", behavior: "smooth"}});
  }}, true);
}}
"""

CSS = """
.lectern-title { display: flex; align-items: baseline; gap: .6rem; flex-wrap: wrap; }
.lectern-title h1 { font-size: 1.6rem; font-weight: 750; margin: 0; letter-spacing: -.01em; }
.lectern-title p { margin: 0; color: var(--body-text-color-subdued); font-size: .95rem; }
.lectern-status { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center;
  justify-content: flex-end; font-size: .88rem; color: var(--body-text-color-subdued); }
.lectern-status code, .lectern-empty code { font-size: .85em; }
.lectern-warn { color: #b45309; }
.lectern-muted { color: var(--body-text-color-subdued); font-size: .9em; }
.lectern-badges { margin-bottom: .35rem; }
.lectern-badge { display: inline-block; padding: .08rem .55rem; border-radius: 999px;
  font-size: .76rem; font-weight: 600; background: var(--neutral-100); color: var(--neutral-700);
  border: 1px solid var(--neutral-200); margin-right: .35rem; white-space: nowrap; }
.lectern-badge-llm { background: #eef2ff; color: #3730a3; border-color: #c7d2fe; }
.lectern-badge-refused { background: #fff7ed; color: #9a3412; border-color: #fed7aa; }
.lectern-badge-warn { background: #fef2f2; color: #991b1b; border-color: #fecaca; }
.lectern-note { margin-top: .45rem; font-size: .82rem; color: var(--body-text-color-subdued); }
.lectern-answer { line-height: 1.6; }
.lectern-caret { animation: lectern-blink 1s steps(2) infinite; margin-left: 1px; }
@keyframes lectern-blink {50% { opacity: 0; }}
a.lectern-chip { display: inline-flex; align-items: center; gap: .3rem; padding: 0 .5rem 0 .16rem;
  margin: 0 .08rem; border-radius: 999px; background: #eef2ff; color: #3730a3 !important;
  border: 1px solid #c7d2fe; font-size: .8em; font-weight: 650; line-height: 1.6;
  text-decoration: none !important; font-variant-numeric: tabular-nums; white-space: nowrap;
  vertical-align: baseline; cursor: pointer; }
a.lectern-chip:hover, a.lectern-chip:focus-visible { background: #e0e7ff; border-color: #6366f1; }
.lectern-chip-n { display: inline-flex; justify-content: center; align-items: center;
  min-width: 1.35em; height: 1.35em; border-radius: 999px; background: #4f46e5; color: #fff;
  font-size: .85em; }
a.lectern-open { font-size: .78em; text-decoration: none !important; padding: 0 .1rem;
  color: var(--body-text-color-subdued) !important; }
a.lectern-open:hover { color: #4f46e5 !important; }
.lectern-player-frame { position: relative; aspect-ratio: 16 / 9; background: #0f172a;
  border-radius: 12px; overflow: hidden; }
.lectern-player-frame iframe { position: absolute; inset: 0; width: 100%; height: 100%; border: 0;
  visibility: hidden; }
.lectern-player-box.playing iframe { visibility: visible; }
.lectern-player-box.playing .lectern-player-empty { display: none; }
.lectern-player-box .lectern-player-empty { position: absolute; inset: 0; display: flex;
  flex-direction: column; gap: .5rem; align-items: center; justify-content: center;
  color: #cbd5e1 !important; font-size: .95rem; }
.lectern-player-box .lectern-player-icon { width: 3rem; height: 3rem; border-radius: 999px;
  background: #334155; display: flex; align-items: center; justify-content: center; font-size: 1.2rem;
  color: #e2e8f0 !important; }
.lectern-now-playing { min-height: 1.2rem; margin-top: .35rem; font-size: .82rem;
  color: var(--body-text-color-subdued); }
.lectern-sources { display: flex; flex-direction: column; gap: .55rem; }
.lectern-sources-head { font-weight: 700; font-size: .95rem; }
.lectern-card { display: flex; gap: .75rem; padding: .6rem;
  border: 1px solid var(--border-color-primary); border-radius: 12px;
  background: var(--background-fill-primary); }
a.lectern-chip.lectern-thumb { flex: 0 0 120px; height: 68px; padding: 0; margin: 0; border: 0;
  border-radius: 8px; overflow: hidden; position: relative; display: block;
  background: linear-gradient(135deg, #1e293b, #475569); }
a.lectern-thumb img { width: 100%; height: 100%; object-fit: cover; display: block; margin: 0; }
/* An unreachable thumbnail (offline, removed video) shows the card's gradient, not a broken-image icon. */
a.lectern-thumb img::before {
  content: ""; position: absolute; inset: 0; background: linear-gradient(135deg, #1e293b, #475569); }
a.lectern-chip .lectern-thumb-time { position: absolute; right: 4px; bottom: 4px;
  background: rgba(0, 0, 0, .78); color: #fff; font-size: .72rem; padding: 0 .3rem; border-radius: 4px; }
.lectern-card-body { min-width: 0; flex: 1; }
.lectern-card-title { font-weight: 650; font-size: .88rem; line-height: 1.3; display: flex; gap: .4rem;
  align-items: baseline; }
.lectern-card-n { flex: none; display: inline-flex; justify-content: center; min-width: 1.3em;
  border-radius: 999px; background: #4f46e5; color: #fff; font-size: .75rem; }
.lectern-card-time { font-size: .78rem; color: var(--body-text-color-subdued);
  font-variant-numeric: tabular-nums; }
.lectern-sources .lectern-card blockquote.lectern-quote { margin: .35rem 0 .4rem !important;
  padding: .05rem 0 .05rem .6rem; border-left: 3px solid #c7d2fe; font-size: .83rem; line-height: 1.45;
  font-style: normal; color: var(--body-text-color); }
.lectern-quote mark { background: #fef08a; color: inherit; padding: 0 .1em; border-radius: 2px; }
.lectern-card-actions { display: flex; gap: .5rem; align-items: center; flex-wrap: wrap; }
.dark a.lectern-chip { background: #1e1b4b; color: #c7d2fe !important; border-color: #4338ca; }
.dark .lectern-quote mark { background: #854d0e; }
"""
