"""The satisfaction link as a page, for a requester who opens it in a browser (``api.ratings`` answers with it when
the client prefers ``text/html``): the one question in the case's language, a plain form posting the answer to the
same address, and after it a "thank you" or the refusal in words. Everything shown is escaped text; the page loads
nothing, runs nothing and may not be framed (``HEADERS``)."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from fastapi.responses import HTMLResponse

from pipeline.channels import ratings
from pipeline.channels.ratings import RatingView
from words import Phrase, say

MEDIA_TYPE = "text/html"
# No script, style only inline, nothing loaded from anywhere, the form posting only here; never in a frame; the
# link (its token) never sent on as a referrer.
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;line-height:1.5}"
    "textarea{width:100%;box-sizing:border-box;font:inherit}"
    "button{font:inherit;font-size:1.15rem;padding:.5rem 1.6rem;margin:0 .6rem .6rem 0;cursor:pointer}"
    ".case{color:#444}"
)


def _quality(headers: Mapping[str, str], media_type: str) -> float:
    """How much ``Accept`` wants ``media_type``: the q of its most specific matching range (0 if none matches)."""
    kind = media_type.split("/")[0]
    best = (-1, 0.0)  # (specificity, q)
    for part in (headers.get("accept") or "*/*").split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        q = next((p[2:] for p in params if p.startswith("q=")), "1")
        specificity = {media_type: 2, f"{kind}/*": 1, "*/*": 0}.get(media.lower())
        if specificity is None or specificity < best[0]:
            continue
        try:
            best = (specificity, float(q))
        except ValueError:
            continue
    return best[1]


def wanted(headers: Mapping[str, str]) -> bool:
    """Whether the client prefers a page to JSON (a browser does; ``*/*`` or no ``Accept`` gets JSON)."""
    html = _quality(headers, MEDIA_TYPE)
    return html > 0 and html > _quality(headers, "application/json")


def _page(language: str, heading: str, content: str, status: int = 200) -> HTMLResponse:
    document = (
        f'<!doctype html>\n<html lang="{escape(language)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(heading)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{escape(heading)}</h1>{content}</body></html>\n"
    )
    return HTMLResponse(document, status, headers=HEADERS)


def _case(view: RatingView, language: str) -> str:
    case = say("desk_rating_page_case", language, case=view.case.id, title=view.case.title)
    return f'<p class="case">{escape(case)}</p>'


def question(view: RatingView) -> HTMLResponse:
    """The question, or (answered already) the answer given."""
    language = view.case.language
    if view.rating.answered_at is not None:
        return answered(view)
    buttons = "".join(
        f'<button type="submit" name="score" value="{score}">{escape(say(f"desk_rating_{score}", language))}</button>'
        for score in ratings.SCORES
    )
    form = (
        f"<p>{escape(say('desk_rating_page_ask', language))}</p>"
        '<form method="post" accept-charset="utf-8">'
        f'<p><label for="comment">{escape(say("desk_rating_page_comment", language))}</label><br>'
        f'<textarea id="comment" name="comment" rows="4" maxlength="{ratings.MAX_COMMENT_CHARS}"></textarea></p>'
        f"<p>{buttons}</p></form>"
    )
    return _page(language, say("desk_rating_page_question", language), _case(view, language) + form)


def answered(view: RatingView) -> HTMLResponse:
    """Thanks, with the answer recorded."""
    language, rating = view.case.language, view.rating
    recorded = say("desk_rating_page_recorded", language, score=Phrase(f"desk_rating_{rating.score}"))
    comment = f"<blockquote>{escape(rating.comment)}</blockquote>" if rating.comment else ""
    content = f"{_case(view, language)}<p>{escape(recorded)}</p>{comment}"
    return _page(language, say("desk_rating_page_thanks", language), content)


def refused(why: Phrase, language: str, status: int) -> HTMLResponse:
    """Why the link cannot be answered (unknown, expired, answered already, an answer off the scale)."""
    content = f"<p>{escape(say(why, language))}</p>"
    return _page(language, say("desk_rating_page_refused", language), content, status)
