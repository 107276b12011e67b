"""Memory content (untrusted text) as safe HTML: CommonMark with raw HTML off, then an allow-list sanitizer.

Two independent layers, so one bug is not an XSS: markdown-it-py escapes any HTML in the text and
refuses `javascript:`/`vbscript:`/`file:` link targets; nh3 (ammonia) then keeps only the tags,
attributes and URL schemes listed here and adds `rel="noopener noreferrer"` to every link. Images
become plain links to their source: a memory must not make the browser fetch anything (no tracking
pixels, no request to another host, nothing the page's CSP would refuse and log). Headings move
down two levels so a memory's `# Title` never competes with the page's one `h1`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache

import nh3
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from markupsafe import Markup

HEADING_SHIFT = 2  # h1 -> h3: the page owns h1 and its sections h2
TAGS = frozenset({
    "a", "blockquote", "br", "code", "del", "em", "h3", "h4", "h5", "h6", "hr", "li", "ol", "p", "pre", "s",
    "strong", "table", "tbody", "td", "th", "thead", "tr", "ul",
})
ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
# Dropped with everything inside them (other unknown tags are dropped but keep their text).
DROPPED_WITH_CONTENT = frozenset({"script", "style", "svg", "math", "iframe", "object", "embed", "template",
                                  "noscript", "textarea", "select", "title"})


def _image_as_link(renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict,
                   env: EnvType) -> str:
    token = tokens[idx]
    alt = renderer.renderInlineAsText(token.children or [], options, env) or "image"
    src = token.attrGet("src") or ""
    return f'<a href="{Markup.escape(src)}">{Markup.escape(alt)}</a>'


def _shift_headings(state: StateCore) -> None:
    for token in state.tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(6, int(token.tag[1]) + HEADING_SHIFT)}"


@cache
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "breaks": True}).enable(["table", "strikethrough"])
    md.add_render_rule("image", _image_as_link)
    md.core.ruler.push("shift_headings", _shift_headings)
    return md


def _relative_url(url: str) -> str | None:
    """A relative link target, unless its first segment holds a colon: `java%09script:` is no scheme to the
    sanitizer, but a reader could take it for one; no link of ours looks like that."""
    first = re.split(r"[/?#]", url, maxsplit=1)[0]
    return None if ":" in first else url


@cache
def _cleaner() -> nh3.Cleaner:
    return nh3.Cleaner(tags=set(TAGS), clean_content_tags=set(DROPPED_WITH_CONTENT), attributes=ATTRIBUTES,
                       url_schemes=set(URL_SCHEMES), url_relative=_relative_url, link_rel="noopener noreferrer",
                       strip_comments=True)


def sanitize(html: str) -> str:
    """Keep only the allow-listed tags, attributes and URL schemes of an HTML fragment."""
    return _cleaner().clean(html)


def render_markdown(text: str) -> Markup:
    """The text's Markdown as HTML that is safe to put in a page as is."""
    return Markup(sanitize(_parser().render(text)))
