"""Decks for the viewer and export tests: every layout and block kind, in several
scripts, made through the public API as a client would."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Tenant

# Per language: a title, two slide titles, bullets, a quote, a note (real phrases, so
# shaping and right-to-left matter).
TEXTS: dict[str, dict[str, Any]] = {
    "en": {
        "title": "Quarterly review",
        "slides": ["Where we stand", "What comes next"],
        "bullets": ["Revenue grew 18 percent", "Churn fell to 2 percent", "Six engineers hired"],
        "quote": "Focus is saying no to good ideas.",
        "note": "Pause here for questions.",
    },
    "ja": {
        "title": "四半期レビュー",
        "slides": ["現状", "次のステップ"],
        "bullets": ["売上は18パーセント増加", "解約率は2パーセントに低下", "エンジニアを6名採用"],
        "quote": "集中とは良いアイデアに「いいえ」と言うことだ。",
        "note": "ここで質問を受け付けます。",
    },
    "ar": {
        "title": "المراجعة الفصلية",
        "slides": ["أين نقف", "الخطوات التالية"],
        "bullets": ["نمت الإيرادات بنسبة 18 بالمئة", "انخفض معدل الإلغاء إلى 2 بالمئة"],
        "quote": "التركيز هو أن تقول لا للأفكار الجيدة.",
        "note": "توقف هنا للأسئلة.",
    },
    "hi": {
        "title": "तिमाही समीक्षा",
        "slides": ["हम कहाँ हैं", "आगे क्या"],
        "bullets": ["राजस्व 18 प्रतिशत बढ़ा", "छह इंजीनियर नियुक्त किए"],
        "quote": "ध्यान का अर्थ है अच्छे विचारों को ना कहना।",
        "note": "यहाँ प्रश्नों के लिए रुकें।",
    },
    "bn": {
        "title": "ত্রৈমাসিক পর্যালোচনা",
        "slides": ["আমরা কোথায় আছি", "পরবর্তী পদক্ষেপ"],
        "bullets": ["রাজস্ব ১৮ শতাংশ বেড়েছে", "ছয়জন প্রকৌশলী নিয়োগ"],
        "quote": "মনোযোগ মানে ভালো ধারণাকে না বলা।",
        "note": "এখানে প্রশ্নের জন্য থামুন।",
    },
}


def sections(
    language: str = "en", *, image_url: str = "https://images.example/chart.png"
) -> list[dict[str, Any]]:
    """Seven slides: every layout, every block kind, speaker notes."""
    text = TEXTS[language]
    first, second = text["slides"]
    bullets = text["bullets"]
    return [
        {
            "title": text["title"],
            "layout": "title",
            "blocks": [{"paragraph": {"text": bullets[0]}}],
        },
        {
            "title": first,
            "layout": "title_and_body",
            "blocks": [
                {"heading": {"text": first, "level": 2}},
                {"paragraph": {"text": bullets[-1]}},
                {"bullet_list": {"items": bullets}},
            ],
            "speaker_notes": text["note"],
        },
        {
            "title": second,
            "layout": "two_column",
            "blocks": [
                {"bullet_list": {"items": bullets[:1], "ordered": True}},
                {"bullet_list": {"items": bullets[1:]}},
            ],
        },
        {
            "title": "",
            "layout": "quote",
            "blocks": [{"quote": {"text": text["quote"], "attribution": "Steve"}}],
        },
        {
            "title": "Chart",
            "layout": "image",
            "blocks": [
                {"image": {"url": image_url, "alt_text": "A rising line", "caption": "Revenue"}}
            ],
        },
        {
            "title": "Numbers",
            "layout": "title_and_body",
            "blocks": [
                {
                    "table": {
                        "header": ["Metric", "Q2", "Q3"],
                        "rows": [
                            {"cells": ["Revenue", "100", "118"]},
                            {"cells": ["Churn", "3%", "2%"]},
                        ],
                    }
                }
            ],
        },
        {"title": second, "layout": "closing", "blocks": [{"paragraph": {"text": text["quote"]}}]},
    ]


def make_deck(
    http: httpx.Client,
    tenant: Tenant,
    *,
    language: str = "en",
    public: bool = False,
    title: str | None = None,
    slides: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A deck made and filled through /api/v1; its JSON as GetPresentation returns it."""
    template = http.get("/api/v1/templates", headers=tenant.headers).json()["templates"][0]
    made = http.post(
        "/api/v1/presentations", json={"template_id": template["id"]}, headers=tenant.headers
    )
    assert made.status_code == 201, made.text
    body = {
        "title": title or TEXTS[language]["title"],
        "sections": sections(language) if slides is None else slides,
        "is_public": public,
    }
    patched = http.patch(
        f"/api/v1/presentations/{made.json()['id']}", json=body, headers=tenant.headers
    )
    assert patched.status_code == 200, patched.text
    deck: dict[str, Any] = patched.json()
    return deck
