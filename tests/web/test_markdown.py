"""Memory content renders as Markdown, and no XSS payload survives it: no script runs, nothing is fetched.

The corpus follows the OWASP XSS Filter Evasion Cheat Sheet and the usual Markdown-specific tricks
(link and image targets, autolinks, reference links, entity-encoded schemes). Each payload is checked
twice: structurally (only allow-listed tags and attributes, link targets http/https/mailto or
relative) and in a real browser (no dialog, no script effect, no request).
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

from markupsafe import Markup
from playwright.sync_api import Browser

from api.web.markdown import ATTRIBUTES, TAGS, render_markdown

XSS = [
    # raw HTML, as OWASP lists it
    "<script>alert('XSS')</script>",
    "<SCRIPT SRC=https://xss.example/xss.js></SCRIPT>",
    "<IMG SRC=\"javascript:alert('XSS');\">",
    "<IMG SRC=javascript:alert('XSS')>",
    "<IMG SRC=JaVaScRiPt:alert('XSS')>",
    "<IMG SRC=`javascript:alert(\"RSnake says, 'XSS'\")`>",
    "<a onmouseover=\"alert(document.cookie)\">xxs link</a>",
    "<IMG \"\"\"><SCRIPT>alert(\"XSS\")</SCRIPT>\"\\>",
    "<IMG SRC=# onmouseover=\"alert('xxs')\">",
    "<IMG SRC=/ onerror=\"alert(String.fromCharCode(88,83,83))\"></img>",
    "<img src=x onerror=\"&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112&#0000116&#0000058&#0000097&#0000108&#0000101&#0000114&#0000116&#0000040&#0000039&#0000088&#0000083&#0000083&#0000039&#0000041\">",
    "<IMG SRC=&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;&#97;&#108;&#101;&#114;&#116;&#40;&#39;&#88;&#83;&#83;&#39;&#41;>",
    "<IMG SRC=&#x6A&#x61&#x76&#x61&#x73&#x63&#x72&#x69&#x70&#x74&#x3A&#x61&#x6C&#x65&#x72&#x74&#x28&#x27&#x58&#x53&#x53&#x27&#x29>",
    "<IMG SRC=\"jav\tascript:alert('XSS');\">",
    "<IMG SRC=\"jav&#x09;ascript:alert('XSS');\">",
    "<IMG SRC=\"jav&#x0A;ascript:alert('XSS');\">",
    "<IMG SRC=\" &#14;  javascript:alert('XSS');\">",
    "<SCRIPT/XSS SRC=\"https://xss.example/xss.js\"></SCRIPT>",
    "<BODY onload!#$%&()*~+-_.,:;?@[/|\\]^`=alert(\"XSS\")>",
    "<<SCRIPT>alert(\"XSS\");//\\<</SCRIPT>",
    "<SCRIPT SRC=//xss.example/.j>",
    "<IMG SRC=\"`<javascript:alert>`('XSS')\"",
    "</TITLE><SCRIPT>alert(\"XSS\");</SCRIPT>",
    "<INPUT TYPE=\"IMAGE\" SRC=\"javascript:alert('XSS');\">",
    "<BODY BACKGROUND=\"javascript:alert('XSS')\">",
    "<IMG DYNSRC=\"javascript:alert('XSS')\">",
    "<STYLE>li {list-style-image: url(\"javascript:alert('XSS')\");}</STYLE><UL><LI>XSS</br>",
    "<svg/onload=alert('XSS')>",
    "<svg><script>alert(1)</script></svg>",
    "<svg><a xlink:href=\"javascript:alert(1)\"><text x=\"20\" y=\"20\">XSS</text></a></svg>",
    "<svg><animate onbegin=alert(1) attributeName=x dur=1s>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph></table></mtext></math>",
    "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
    "<iframe src=\"javascript:alert('XSS');\"></iframe>",
    "<iframe srcdoc=\"<script>alert(1)</script>\"></iframe>",
    "<object data=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\"></object>",
    "<embed src=\"data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+\">",
    "<META HTTP-EQUIV=\"refresh\" CONTENT=\"0;url=javascript:alert('XSS');\">",
    "<BASE HREF=\"javascript:alert('XSS');//\">",
    "<LINK REL=\"stylesheet\" HREF=\"javascript:alert('XSS');\">",
    "<TABLE BACKGROUND=\"javascript:alert('XSS')\"><TD BACKGROUND=\"javascript:alert('XSS')\">",
    "<DIV STYLE=\"background-image: url(javascript:alert('XSS'))\">",
    "<DIV STYLE=\"width: expression(alert('XSS'));\">",
    "<details open ontoggle=alert(1)>",
    "<input autofocus onfocus=alert(1)>",
    "<video><source onerror=\"alert(1)\"></video>",
    "<form action=\"javascript:alert(1)\"><button>go</button></form>",
    "<a href=\"javascript&colon;alert(1)\">x</a>",
    "<a href=\"&#1;javascript:alert(1)\">x</a>",
    "\"><script>alert(document.domain)</script>",
    "'';!--\"<XSS>=&{()}",
    "<!--<img src=\"--><img src=x onerror=alert(1)//\">",
    "<template><script>alert(1)</script></template>",
    # Markdown's own ways in
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](&#106;avascript:alert(1))",
    "[click](&#x6A;avascript:alert(1))",
    "[click](java&#x09;script:alert(1))",
    "[click](<javascript:alert(1)>)",
    "[click]( javascript:alert(1))",
    "[click](vbscript:msgbox(1))",
    "[click](file:///etc/passwd)",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[click](data:text/html,<script>alert(1)</script>)",
    "<javascript:alert(1)>",
    "<data:text/html,<script>alert(1)</script>>",
    "[a][ref]\n\n[ref]: javascript:alert(1)",
    "[a][ref]\n\n[ref]: data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "![pic](javascript:alert(1))",
    "![pic](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "![pic](data:image/png;base64,iVBORw0KGgo=)",
    "![pic\" onerror=\"alert(1)](https://img.example/x.png)",
    "![pic](https://img.example/x.png \"title\\\" onerror=\\\"alert(1)\")",
    "[x](https://ok.example \"\\\" onmouseover=alert(1) x=\\\"\")",
    "[x](https://ok.example/\"onmouseover=\"alert(1))",
    "```html\n<script>alert(1)</script>\n```",
    "`<img src=x onerror=alert(1)>`",
    "> <script>alert(1)</script>",
    "| a | b |\n|---|---|\n| <img src=x onerror=alert(1)> | [x](javascript:alert(1)) |",
    "**<svg onload=alert(1)>**",
    "[<img src=x onerror=alert(1)>](https://ok.example)",
]

URL_ATTRIBUTES = {"href", "src", "action", "formaction", "background", "xlink:href", "data", "srcdoc"}
SAFE_URL = re.compile(r"^(?:https?:|mailto:|[^:]*$)", re.IGNORECASE)  # a scheme we allow, or none at all


class Elements(HTMLParser):
    """Every start tag and its attributes, as a browser's tokenizer sees them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


def elements(markup: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Elements()
    parser.feed(markup)
    parser.close()
    return parser.found


def unsafe_parts(markup: str) -> list[str]:
    """What in the rendered HTML could run script or load anything; empty when it is inert."""
    found = []
    for tag, attrs in elements(markup):
        if tag not in TAGS:
            found.append(f"tag <{tag}>")
        for name, value in attrs.items():
            allowed = ATTRIBUTES.get(tag, set()) | ({"rel"} if tag == "a" else set())
            if name not in allowed:
                found.append(f"attribute {name} on <{tag}>")
            if name in URL_ATTRIBUTES and value is not None:
                target = re.sub(r"[\x00-\x20]", "", html.unescape(value))
                if not SAFE_URL.match(target):
                    found.append(f"{name}={value!r} on <{tag}>")
    return found


def test_every_payload_renders_inert():
    rendered = {payload: str(render_markdown(payload)) for payload in XSS}
    assert {p: unsafe_parts(h) for p, h in rendered.items() if unsafe_parts(h)} == {}
    for payload, markup in rendered.items():
        assert not re.search(r"<(script|svg|math|iframe|object|embed|img|style|base|meta|link|form|input)\b",
                             markup, re.IGNORECASE), payload


def test_no_payload_runs_or_fetches_anything_in_a_browser(browser: Browser):
    context = browser.new_context()
    page = context.new_page()
    dialogs: list[str] = []
    requests: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("request", lambda r: requests.append(r.url))
    body = "".join(f"<section>{render_markdown(p)}</section>" for p in XSS)
    try:
        page.set_content(f"<!doctype html><html><head><title>corpus</title></head><body>{body}</body></html>")
        page.evaluate("""() => document.querySelectorAll("section *").forEach(e => {
            for (const type of ["mouseover", "mouseenter", "mousedown", "focus"]) {  // a reader pointing at it
                e.dispatchEvent(new MouseEvent(type, {bubbles: true, cancelable: true}));
            }
        })""")
        page.wait_for_timeout(500)  # time for any onload/onerror/animation handler to have fired
        assert dialogs == []
        assert [u for u in requests if not u.startswith(("about:", "data:"))] == []
        assert page.locator("script, img, svg, iframe, object, embed, style").count() == 0
    finally:
        context.close()


def test_markdown_renders_the_usual_formatting():
    text = ("# Plan\n\nShip **the billing migration** on *Tuesday*, see [the ticket](https://t.example/42).\n"
            "Second line\n\n- one\n- two\n\n```\nx = 1 < 2\n```\n\n"
            "| a | b |\n|--:|---|\n| 1 | ~~2~~ |\n\nmail [me](mailto:ops@example.com) or [the cube](/ui/cubes/kb-1)")
    assert str(render_markdown(text)) == (
        "<h3>Plan</h3>\n"
        '<p>Ship <strong>the billing migration</strong> on <em>Tuesday</em>, see '
        '<a href="https://t.example/42" rel="noopener noreferrer">the ticket</a>.<br>\nSecond line</p>\n'
        "<ul>\n<li>one</li>\n<li>two</li>\n</ul>\n"
        "<pre><code>x = 1 &lt; 2\n</code></pre>\n"
        "<table>\n<thead>\n<tr>\n<th>a</th>\n<th>b</th>\n</tr>\n</thead>\n"
        "<tbody>\n<tr>\n<td>1</td>\n<td><s>2</s></td>\n</tr>\n</tbody>\n</table>\n"
        '<p>mail <a href="mailto:ops@example.com" rel="noopener noreferrer">me</a> or '
        '<a href="/ui/cubes/kb-1" rel="noopener noreferrer">the cube</a></p>\n'
    )


def test_an_image_becomes_a_link_to_its_source_and_headings_leave_h1_to_the_page():
    assert str(render_markdown("![chart *of* sales](https://img.example/c.png)")) == (
        '<p><a href="https://img.example/c.png" rel="noopener noreferrer">chart of sales</a></p>\n')
    assert str(render_markdown("# a\n## b\n#### d\n###### f")) == "<h3>a</h3>\n<h4>b</h4>\n<h6>d</h6>\n<h6>f</h6>\n"


def test_the_result_is_markup_that_jinja_leaves_alone():
    rendered = render_markdown("a < b & **c**")
    assert isinstance(rendered, Markup)
    assert str(rendered) == "<p>a &lt; b &amp; <strong>c</strong></p>\n"
    assert Markup("{}").format(rendered) == rendered  # already safe: not escaped a second time
