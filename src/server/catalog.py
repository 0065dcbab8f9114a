"""Built-in public presentation templates, as `chronicle.v1.Template` proto JSON dicts."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote_plus

_PLACEHOLDER_IMAGE = "https://placehold.co/1200x675?text="


def _template(
    template_id: str,
    name: str,
    description: str,
    category: list[str],
    sections: list[dict[str, Any]],
) -> dict[str, Any]:
    return {
        "id": template_id,
        "name": name,
        "description": description,
        "category": category,
        "sections": sections,
    }


def _section(
    section_id: str, title: str, layout: str, blocks: list[dict[str, Any]], notes: str
) -> dict[str, Any]:
    return {
        "id": section_id,
        "title": title,
        "layout": layout,
        "blocks": blocks,
        "speaker_notes": notes,
    }


def _heading(text: str, level: int = 1) -> dict[str, Any]:
    return {"heading": {"text": text, "level": level}}


def _para(text: str) -> dict[str, Any]:
    return {"paragraph": {"text": text}}


def _bullets(*items: str) -> dict[str, Any]:
    return {"bullet_list": {"items": list(items), "ordered": False}}


def _steps(*items: str) -> dict[str, Any]:
    return {"bullet_list": {"items": list(items), "ordered": True}}


def _quote(text: str, attribution: str) -> dict[str, Any]:
    return {"quote": {"text": text, "attribution": attribution}}


def _image(label: str, alt_text: str, caption: str) -> dict[str, Any]:
    url = _PLACEHOLDER_IMAGE + quote_plus(label)
    return {"image": {"url": url, "alt_text": alt_text, "caption": caption}}


def _table(header: list[str], *rows: list[str]) -> dict[str, Any]:
    return {"table": {"header": header, "rows": [{"cells": row} for row in rows]}}


_PITCH_DECK = _template(
    "tpl_XPCqg6WKxce0uqV0CpVo",
    "Pitch Deck",
    "A classic investor pitch that takes a seed or Series A story from problem to ask.",
    ["startup", "fundraising"],
    [
        _section(
            "sec_IcwLZcBRc0bd12YEWzmO",
            "[Company name]",
            "title",
            [
                _heading("[Company name]"),
                _para("[Company] helps [customer] [get outcome] without [today's pain]."),
            ],
            "Introduce yourself and the company in one breath, then say the one-line pitch "
            "slowly enough that it sticks.",
        ),
        _section(
            "sec_Ubo0HdOq4aLiwmVlZVSJ",
            "Problem",
            "title_and_body",
            [
                _heading("The problem", 2),
                _para(
                    "Teams lose 6 hours a week to [painful manual task], and it gets worse "
                    "as they grow."
                ),
                _bullets(
                    "Who feels it: [role] at [type of company]",
                    "What they do today: [spreadsheets, email threads, an agency]",
                    "What it costs: [$X per year / Y hours per person per week]",
                ),
            ],
            "Tell one concrete story of a real customer hitting this problem before you show "
            "any numbers.",
        ),
        _section(
            "sec_WkHIJfaXLPAVpX7x7006",
            "Solution",
            "two_column",
            [
                _heading("Our solution", 2),
                _para(
                    "[Product] [does the job] automatically, so [customer] can [focus on what "
                    "matters] in minutes instead of hours."
                ),
                _image(
                    "Product screenshot",
                    "Screenshot of the product's main screen",
                    "[The moment a customer sees value]",
                ),
            ],
            "Show the product rather than describe it: walk through the single screen where "
            "the problem from the previous slide disappears.",
        ),
        _section(
            "sec_L72a5d4xL7tXyCkrDinr",
            "Market size",
            "image",
            [
                _image(
                    "Market size",
                    "Three nested circles labelled TAM, SAM and SOM",
                    "Bottom-up estimate: [number of customers] x [annual price]",
                ),
                _bullets(
                    "TAM: $[X]B, everyone who has this problem",
                    "SAM: $[Y]B, the segment we can reach with today's product",
                    "SOM: $[Z]M, what we can realistically win in 3-5 years",
                ),
            ],
            "Explain how you got the numbers, bottom-up, so investors trust them; one sentence "
            "per circle is enough.",
        ),
        _section(
            "sec_tbcnnPIwjuzuoQZoNPLd",
            "Business model",
            "title_and_body",
            [
                _heading("How we make money", 2),
                _table(
                    ["Plan", "Price", "Who it is for"],
                    ["Starter", "$[X] / seat / month", "Small teams trying us out"],
                    ["Business", "$[Y] / seat / month", "Growing companies, 20-200 people"],
                    ["Enterprise", "Custom", "Large organisations with security needs"],
                ),
            ],
            "Say which plan most revenue comes from and what your average contract value is today.",
        ),
        _section(
            "sec_L1bmL90V0gJVrYv9LxIm",
            "Traction",
            "title_and_body",
            [
                _heading("Traction", 2),
                _table(
                    ["Metric", "6 months ago", "Today"],
                    ["Monthly recurring revenue", "$[X]k", "$[Y]k"],
                    ["Paying customers", "[N]", "[M]"],
                    ["Net revenue retention", "[X]%", "[Y]%"],
                ),
                _quote(
                    "[We replaced three tools with Company and got our Fridays back.]",
                    "[Name, Title, Customer company]",
                ),
            ],
            "Lead with the growth rate, not the absolute numbers, and let the customer quote "
            "speak for itself.",
        ),
        _section(
            "sec_9U62FpQXwz6tutLg6LjC",
            "Team",
            "two_column",
            [
                _heading("Why us", 2),
                _bullets(
                    "[Founder name], CEO: [relevant past role or exit]",
                    "[Founder name], CTO: [what they built before]",
                    "[Key hire], [role]: [why they matter]",
                ),
                _para("Advisors: [Name, known for X], [Name, known for Y]"),
            ],
            "Explain in one or two sentences why this team is unusually well placed to solve "
            "this problem.",
        ),
        _section(
            "sec_4D4eNVprFDXXgpiE9YLF",
            "The ask",
            "closing",
            [
                _heading("The ask"),
                _para("We are raising $[X]M to reach [milestone, e.g. $2M ARR] by [date]."),
                _bullets(
                    "[50]% product and engineering",
                    "[30]% sales and marketing",
                    "[20]% operations and runway",
                ),
                _para("[Founder name] · [email] · [website]"),
            ],
            "State the amount and the milestone it buys, then stop talking and invite questions.",
        ),
    ],
)

_QUARTERLY_BUSINESS_REVIEW = _template(
    "tpl_j6PJw3Dvd105wpsy0jAv",
    "Quarterly Business Review",
    "Review last quarter's results against goals and agree on priorities for the next one.",
    ["business", "reporting"],
    [
        _section(
            "sec_6WVqghoOB57nsQ0AQHnL",
            "Q[N] [Year] Business Review",
            "title",
            [
                _heading("Q[N] [Year] Business Review"),
                _para("[Team or business unit] · [Presenter name] · [Date]"),
            ],
            "Welcome everyone and say what decisions you need from this meeting before it ends.",
        ),
        _section(
            "sec_oeD65BSINx7fdWQgHKkV",
            "Quarter at a glance",
            "title_and_body",
            [
                _heading("Quarter at a glance", 2),
                _bullets(
                    "Revenue: $[X]M, [+/-Y]% vs. plan",
                    "New customers: [N], [+/-Y]% quarter over quarter",
                    "Gross retention: [X]%",
                    "Headline: [the one thing everyone should remember]",
                ),
            ],
            "Give the headline first; if people remember only one slide, it should be this one.",
        ),
        _section(
            "sec_Bvn0OZWqpDnSG865nRZX",
            "Goals vs. results",
            "title_and_body",
            [
                _heading("Goals vs. results", 2),
                _table(
                    ["Goal", "Target", "Actual", "Status"],
                    ["[Revenue]", "$[X]M", "$[Y]M", "[On track]"],
                    ["[New logos]", "[N]", "[M]", "[Behind]"],
                    ["[Launch feature X]", "[Date]", "[Date]", "[Done]"],
                ),
            ],
            "Go row by row, and for anything behind, say in one sentence why and what you "
            "are doing about it.",
        ),
        _section(
            "sec_3P7rQqOOd05006lG64Ru",
            "Trend",
            "image",
            [
                _image(
                    "Revenue by month",
                    "Line chart of monthly revenue over the last four quarters",
                    "Monthly revenue, last four quarters",
                ),
                _para(
                    "[What changed, and when: e.g. growth picked up after the March pricing "
                    "change.]"
                ),
            ],
            "Point to the one inflection on the chart that explains most of the quarter.",
        ),
        _section(
            "sec_NPVK3ZgV6cLIhp9jjZVq",
            "Wins and misses",
            "two_column",
            [
                _heading("What went well", 3),
                _bullets("[Win and its impact]", "[Win and its impact]"),
                _heading("What did not", 3),
                _bullets("[Miss and its root cause]", "[Miss and its root cause]"),
            ],
            "Be as specific about the misses as about the wins; honesty here earns trust for "
            "the asks later.",
        ),
        _section(
            "sec_VjSmltU17xz3Pn0RKRr8",
            "Customer voice",
            "quote",
            [
                _quote(
                    "[A customer's words that capture how the quarter felt from their side.]",
                    "[Name, Title, Company]",
                ),
            ],
            "Read the quote aloud, then say in a sentence what it tells you about where to "
            "invest next.",
        ),
        _section(
            "sec_87D6m7WuFPDm1tt80WII",
            "Next quarter priorities",
            "title_and_body",
            [
                _heading("Priorities for Q[N+1]", 2),
                _steps(
                    "[Priority 1]: [measurable target] · owner: [name]",
                    "[Priority 2]: [measurable target] · owner: [name]",
                    "[Priority 3]: [measurable target] · owner: [name]",
                ),
            ],
            "Keep it to three priorities, each with an owner and a number you will report "
            "next quarter.",
        ),
        _section(
            "sec_1zb4lvvJUvX8RAWPojAl",
            "Asks and decisions",
            "closing",
            [
                _heading("What we need from you"),
                _bullets(
                    "Decision: [choice to be made, with your recommendation]",
                    "Headcount: [roles and timing]",
                    "Support from [team]: [specific request]",
                ),
            ],
            "Ask for each decision explicitly and note who agreed, so the follow-up email "
            "writes itself.",
        ),
    ],
)

_SALES_PROPOSAL = _template(
    "tpl_Aixx7JcN6oDsKX6Zwyze",
    "Sales Proposal",
    "A client-facing proposal that ties your offer to the buyer's goals, plan and price.",
    ["sales", "business"],
    [
        _section(
            "sec_FGSFh84K2FQ7KtcClCbL",
            "[Solution] for [Client]",
            "title",
            [
                _heading("[Solution] for [Client company]"),
                _para("Proposal prepared for [client contact] by [your name] · [Date]"),
            ],
            "Thank the client for their time and remind them what you agreed to cover in "
            "this meeting.",
        ),
        _section(
            "sec_zFq2Hg3Gco9Yi8fq4gVX",
            "Where you are today",
            "title_and_body",
            [
                _heading("Where you are today", 2),
                _para(
                    "[Client] is [growing quickly / consolidating tools / entering a new "
                    "market]. From our conversations, three things stand in the way:"
                ),
                _steps(
                    "[Challenge 1, in the client's own words]",
                    "[Challenge 2]",
                    "[Challenge 3]",
                ),
            ],
            "Play back what you heard in discovery and ask them to confirm you have it right "
            "before going on.",
        ),
        _section(
            "sec_QwAsBmbDeLWwO0EKTPAb",
            "What success looks like",
            "title_and_body",
            [
                _heading("What success looks like", 2),
                _bullets(
                    "Cut onboarding time from [6 weeks] to [2 weeks]",
                    "Save [N] hours per [team] per week",
                    "[Business outcome the buyer's boss cares about]",
                ),
            ],
            "Anchor on the client's metrics, not your features; these are the numbers you "
            "will be judged on.",
        ),
        _section(
            "sec_WkDzRce7x3YzQbE16NSv",
            "Recommended solution",
            "two_column",
            [
                _heading("Our recommendation", 2),
                _para(
                    "[Product / service package] covering [scope], integrated with "
                    "[client's existing systems]."
                ),
                _image(
                    "Solution overview",
                    "Diagram of how the solution fits the client's systems",
                    "[How the pieces fit together]",
                ),
            ],
            "Map each part of the solution back to one of the challenges on the earlier slide.",
        ),
        _section(
            "sec_i3Hb2ztHTix0HM4itl9F",
            "Why [Your company]",
            "quote",
            [
                _quote(
                    "[Quote from a customer similar to this client about the result they got.]",
                    "[Name, Title, Similar company]",
                ),
                _bullets(
                    "[N] customers in [client's industry]",
                    "[Certification, award or guarantee]",
                ),
            ],
            "Use the reference customer most like this client, and offer to connect them directly.",
        ),
        _section(
            "sec_B0Xadet5ifPtobuHZMgA",
            "Rollout plan",
            "title_and_body",
            [
                _heading("Rollout plan", 2),
                _table(
                    ["Phase", "Timing", "What happens"],
                    ["Kick-off", "Week 1", "Agree goals, owners and success metrics"],
                    ["Set-up", "Weeks 2-3", "Configure, integrate and import data"],
                    ["Pilot", "Weeks 4-6", "[Team] goes live; weekly check-ins"],
                    ["Roll-out", "Weeks 7-8", "Everyone live; review against goals"],
                ),
            ],
            "Emphasise how little of the client's time each phase needs and who on your side "
            "owns it.",
        ),
        _section(
            "sec_HAGGEpCxODpODzyHeUlr",
            "Investment",
            "title_and_body",
            [
                _heading("Investment", 2),
                _table(
                    ["Item", "Quantity", "Annual price"],
                    ["[Licence tier]", "[N] seats", "$[X]"],
                    ["Onboarding and training", "1", "$[Y]"],
                    ["Total", "", "$[Z]"],
                ),
                _para("Pricing valid until [date]. [Payment terms]."),
            ],
            "Compare the total to the value from the success slide, then pause and let them react.",
        ),
        _section(
            "sec_RrZs9EbMsHfX5B4L8Gkf",
            "Next steps",
            "closing",
            [
                _heading("Next steps"),
                _steps(
                    "[Client] reviews proposal with [stakeholders] by [date]",
                    "We send contract and security documents by [date]",
                    "Kick-off on [date]",
                ),
                _para("[Your name] · [email] · [phone]"),
            ],
            "Agree on the next concrete step and its date before anyone leaves the room.",
        ),
    ],
)

_RESEARCH_REPORT = _template(
    "tpl_5hn0TDlH5xNkIT6xSgsd",
    "Research Report",
    "Present a study's question, method, findings and recommendations to a broad audience.",
    ["research", "reporting"],
    [
        _section(
            "sec_5rqaw6aKRFgffOdnK0wt",
            "[Research title]",
            "title",
            [
                _heading("[Research title]"),
                _para("[Author(s)] · [Organisation] · [Date]"),
            ],
            "Introduce the study in one sentence and say who commissioned it and why now.",
        ),
        _section(
            "sec_mtrWW9fi6oOsegNB2ryL",
            "Key findings",
            "title_and_body",
            [
                _heading("Key findings", 2),
                _steps(
                    "[Finding 1: the headline result, with its number]",
                    "[Finding 2]",
                    "[Finding 3]",
                ),
            ],
            "Give the answer first; the rest of the deck is the evidence for these three points.",
        ),
        _section(
            "sec_AzjOUG1aU55BtAG5IOBm",
            "Question and background",
            "title_and_body",
            [
                _heading("What we set out to learn", 2),
                _para("Research question: [How / why / to what extent does X affect Y?]"),
                _bullets(
                    "What was already known: [prior work or internal data]",
                    "What was missing: [the gap this study fills]",
                ),
            ],
            "Explain why the question matters to this audience and what would change "
            "depending on the answer.",
        ),
        _section(
            "sec_F6bOEOpTzPLgiBdMb4re",
            "Method",
            "title_and_body",
            [
                _heading("How we did it", 2),
                _table(
                    ["Aspect", "Detail"],
                    ["Participants", "[N] [people / companies], recruited via [channel]"],
                    ["Method", "[Survey / interviews / experiment / data analysis]"],
                    ["Period", "[Start date] to [end date]"],
                    ["Analysis", "[Statistical test / thematic coding / model]"],
                ),
            ],
            "Keep this short, but say enough that a sceptic would accept the sample and method.",
        ),
        _section(
            "sec_VV0m10F52mAGcQ7he5EB",
            "Finding 1",
            "image",
            [
                _image(
                    "Finding 1 chart",
                    "Bar chart comparing the groups in finding 1",
                    "[Chart title, with units and sample size]",
                ),
                _para("[What the chart shows, in one sentence, and why it matters.]"),
            ],
            "Tell the audience where to look on the chart before explaining what it means.",
        ),
        _section(
            "sec_z1zWoythQePwJ3HCzEBO",
            "In their words",
            "quote",
            [
                _quote(
                    "[A participant quote that brings finding 2 to life.]",
                    "[Participant role, anonymised]",
                ),
                _para("[How common this view was, e.g. 14 of 20 interviewees said the same.]"),
            ],
            "Use the quote to make the finding human, and say how typical it was so it is "
            "not mistaken for an outlier.",
        ),
        _section(
            "sec_2qYauct74WemXbXVf0Lh",
            "Limitations",
            "title_and_body",
            [
                _heading("Limitations", 2),
                _bullets(
                    "[Sample: who is under- or over-represented]",
                    "[Method: what this design cannot show, e.g. causation]",
                    "[Timing: anything unusual about the study period]",
                ),
            ],
            "Name the limitations before someone else does, and say how they affect the "
            "confidence in each finding.",
        ),
        _section(
            "sec_KgSJcx8NaNxdalTugIos",
            "Recommendations",
            "title_and_body",
            [
                _heading("What we recommend", 2),
                _steps(
                    "[Action] because [finding] · owner: [team]",
                    "[Action] because [finding] · owner: [team]",
                    "Further research: [open question worth studying next]",
                ),
            ],
            "Link each recommendation to the finding that supports it, and suggest who "
            "should own it.",
        ),
        _section(
            "sec_CWhMtLT8HHtTSll6T2Z1",
            "Questions",
            "closing",
            [
                _heading("Questions and further reading"),
                _bullets(
                    "Full report: [link]",
                    "Data and materials: [link]",
                    "Contact: [name] · [email]",
                ),
            ],
            "Invite questions and point people to the full report for the details you skipped.",
        ),
    ],
)

_PROJECT_PROPOSAL = _template(
    "tpl_GzLdpTAlFWOIWKtAetG8",
    "Project Proposal",
    "Make the case for a new project and ask decision-makers to approve scope and budget.",
    ["project", "planning"],
    [
        _section(
            "sec_UaGLaXrddFsxtwsKaQal",
            "[Project name]",
            "title",
            [
                _heading("[Project name]"),
                _para("Proposal to [decision-makers] · Sponsor: [name] · [Date]"),
            ],
            "Say in one sentence what you are asking for today, so the audience listens "
            "with the decision in mind.",
        ),
        _section(
            "sec_fKvYOQgb9v1ZPLtt00FU",
            "Why this project",
            "title_and_body",
            [
                _heading("Why this project, why now", 2),
                _para(
                    "Today, [process or system] causes [problem], costing us about "
                    "[$X or N hours] every [month]."
                ),
                _bullets(
                    "[Evidence: metric, incident or customer complaint]",
                    "[What happens if we do nothing]",
                ),
            ],
            "Make the cost of doing nothing concrete; that is the number the proposal is "
            "measured against.",
        ),
        _section(
            "sec_8qfgt2Yp4ItTb6mLJNwM",
            "Objectives",
            "title_and_body",
            [
                _heading("Objectives and success measures", 2),
                _table(
                    ["Objective", "Measure", "Target"],
                    ["[Reduce manual work]", "[Hours per week]", "[-50% by Q3]"],
                    ["[Improve quality]", "[Error rate]", "[Below 1%]"],
                    ["[Adoption]", "[Active users]", "[80% of team]"],
                ),
            ],
            "Agree on these measures now; they are how everyone will know whether the "
            "project worked.",
        ),
        _section(
            "sec_6nDHOYH3fGpMPOrdQ4iV",
            "Scope",
            "two_column",
            [
                _heading("In scope", 3),
                _bullets("[Deliverable 1]", "[Deliverable 2]", "[Deliverable 3]"),
                _heading("Out of scope", 3),
                _bullets("[Thing people might assume is included]", "[Later phase idea]"),
            ],
            "Spend as much time on what is out of scope as what is in; it prevents surprises "
            "later.",
        ),
        _section(
            "sec_ITEE5a9h9xnTzqhVXdiC",
            "Timeline",
            "title_and_body",
            [
                _heading("Timeline and milestones", 2),
                _table(
                    ["Milestone", "Date", "Owner"],
                    ["Discovery complete", "[Date]", "[Name]"],
                    ["First version live", "[Date]", "[Name]"],
                    ["Full rollout", "[Date]", "[Name]"],
                    ["Review against objectives", "[Date]", "[Sponsor]"],
                ),
            ],
            "Point out the milestone where you will check progress and could still change course.",
        ),
        _section(
            "sec_QyG7zPzNiduOsVIs2GqC",
            "Resources and budget",
            "title_and_body",
            [
                _heading("Resources and budget", 2),
                _bullets(
                    "People: [N] FTE from [teams] for [duration]",
                    "Budget: $[X] for [tools, vendors, contractors]",
                    "Expected return: $[Y] per year, payback in [N] months",
                ),
            ],
            "Present cost and return together so the decision is about value, not just spend.",
        ),
        _section(
            "sec_C8XHMMJPnwt6lKpj08DC",
            "Risks",
            "title_and_body",
            [
                _heading("Risks and mitigations", 2),
                _table(
                    ["Risk", "Likelihood", "Mitigation"],
                    ["[Key people unavailable]", "[Medium]", "[Named backups, early start]"],
                    ["[Vendor delay]", "[Low]", "[Contract milestones, fallback option]"],
                    ["[Low adoption]", "[Medium]", "[Champions in each team, training]"],
                ),
            ],
            "Show that you have thought about what could go wrong and already have a plan "
            "for the likely risks.",
        ),
        _section(
            "sec_Ka9NyKd1WOVYmxcQaJvA",
            "Decision requested",
            "closing",
            [
                _heading("Decision requested"),
                _para(
                    "Approve [project name] with a budget of $[X] and [N] people, starting [date]."
                ),
                _para("Questions: [sponsor name] · [email]"),
            ],
            "Ask for the decision directly and, if it cannot be made today, agree on when "
            "and by whom.",
        ),
    ],
)

_HOW_TO_GUIDE = _template(
    "tpl_2ldqTbGsEbAmQIrLDO6V",
    "How-To Guide",
    "Teach a task step by step, with prerequisites, screenshots, common mistakes and a recap.",
    ["training", "education"],
    [
        _section(
            "sec_oFM4Qn0amckeb63X86Bq",
            "How to [do the task]",
            "title",
            [
                _heading("How to [do the task]"),
                _para("A step-by-step guide for [audience] · about [15] minutes"),
            ],
            "Say who this guide is for and what they will be able to do by the end of it.",
        ),
        _section(
            "sec_v1aCTCBCgab1Ksy2CDBA",
            "What you will learn",
            "title_and_body",
            [
                _heading("What you will learn", 2),
                _bullets(
                    "How to [first skill]",
                    "How to [second skill]",
                    "How to check your work and fix common problems",
                ),
            ],
            "Set expectations: list the outcomes, not the topics, so people know what "
            "success looks like.",
        ),
        _section(
            "sec_663EFgBG7pry3cjQ4FCf",
            "Before you start",
            "title_and_body",
            [
                _heading("Before you start", 2),
                _bullets(
                    "Access to [tool or system], with [permission level]",
                    "[File, account or information you will need]",
                    "About [N] minutes without interruptions",
                ),
            ],
            "Pause here and make sure everyone has access; it saves time on every later step.",
        ),
        _section(
            "sec_VrwJj8s6ucxbWA8e011k",
            "Step 1: [Action]",
            "two_column",
            [
                _heading("Step 1: [Action]", 2),
                _steps(
                    "Open [screen or menu]",
                    "Click [button] and choose [option]",
                    "Enter [value] and select Save",
                ),
                _image(
                    "Step 1 screenshot",
                    "Screenshot showing where to click for step 1",
                    "[Highlight the button to click]",
                ),
            ],
            "Demonstrate the step live if you can, then give people a minute to do it themselves.",
        ),
        _section(
            "sec_jHVsTmMNnsguMEdleoqz",
            "Step 2: [Action]",
            "two_column",
            [
                _heading("Step 2: [Action]", 2),
                _steps(
                    "Go to [screen]",
                    "Fill in [fields]",
                    "Check that [expected result] appears",
                ),
                _image(
                    "Step 2 screenshot",
                    "Screenshot of the expected result after step 2",
                    "[What it looks like when it worked]",
                ),
            ],
            "Show what a correct result looks like so people can check their own work.",
        ),
        _section(
            "sec_FoeXuIjFlFYGsQuMQ5Yi",
            "Common mistakes",
            "title_and_body",
            [
                _heading("Common mistakes", 2),
                _table(
                    ["Mistake", "What you see", "How to fix it"],
                    ["[Skipping a step]", "[Error message]", "[Go back to step N and ...]"],
                    ["[Wrong setting]", "[Unexpected result]", "[Change X to Y]"],
                    ["[Missing permission]", "[Greyed-out button]", "[Ask [role] for access]"],
                ),
            ],
            "Walk through the mistake you see most often in real life, and how to recover from it.",
        ),
        _section(
            "sec_AcrkexJ5HyUOTTqnEesm",
            "Tip",
            "quote",
            [
                _quote(
                    "[A rule of thumb from someone who does this task every day.]",
                    "[Name, Role]",
                ),
            ],
            "Share the tip as a story if you can: when it helped, and what happened when it "
            "was ignored.",
        ),
        _section(
            "sec_gbqy1Hb7GipYF4yabpx3",
            "Recap",
            "closing",
            [
                _heading("Recap and next steps"),
                _steps(
                    "[Step 1 in five words]",
                    "[Step 2 in five words]",
                    "Check: [how to know you are done]",
                ),
                _para("Need help? [Channel, person or help article link]"),
            ],
            "Recap the steps in one breath and tell people exactly where to go when they get "
            "stuck.",
        ),
    ],
)

_ALL_HANDS = _template(
    "tpl_rHIqeK8zycfSq8kISSdJ",
    "Team All-Hands",
    "A regular all-hands meeting that shares company news, celebrates wins and answers questions.",
    ["team", "internal"],
    [
        _section(
            "sec_8HbKOEx6oBhQAepesEAo",
            "[Company] All-Hands",
            "title",
            [
                _heading("[Company] All-Hands"),
                _para("[Month Year] · Hosted by [name]"),
            ],
            "Welcome everyone, especially new joiners, and say how long the meeting will take.",
        ),
        _section(
            "sec_KkF9lcj2X3Qju1pxWCR7",
            "Agenda",
            "title_and_body",
            [
                _heading("Agenda", 2),
                _steps(
                    "Company update ([name], 10 min)",
                    "Wins and shout-outs (5 min)",
                    "Team spotlight: [team] (10 min)",
                    "What is next (5 min)",
                    "Open Q&A (15 min)",
                ),
            ],
            "Run through the agenda quickly and remind people where to post questions "
            "during the meeting.",
        ),
        _section(
            "sec_7XrZSJaKkx08IRgQh3AO",
            "Company update",
            "title_and_body",
            [
                _heading("Company update", 2),
                _bullets(
                    "Customers: [N], up [X]% since last all-hands",
                    "Revenue: [on / ahead of / behind] plan",
                    "Team: [N] people, [M] joined this month",
                    "Big news: [launch, partnership or milestone]",
                ),
            ],
            "Share the numbers honestly, including the ones that are behind, and explain "
            "what they mean for everyone's work.",
        ),
        _section(
            "sec_MZVsI2pK0uafFA1b313I",
            "Wins and shout-outs",
            "quote",
            [
                _quote(
                    "[Something a customer said about our work this month.]",
                    "[Name, Company]",
                ),
                _bullets(
                    "Thanks to [name] for [specific contribution]",
                    "Thanks to [team] for [specific contribution]",
                ),
            ],
            "Name the specific thing each person did; specific praise means far more than "
            "general thanks.",
        ),
        _section(
            "sec_FFDpSJywo23cYCHZmQXi",
            "Team spotlight",
            "image",
            [
                _image(
                    "Team spotlight",
                    "Photo of the spotlight team",
                    "[Team name]: [what they are working on]",
                ),
                _para(
                    "[Team lead] on what the team shipped, what they learned and how others "
                    "can help."
                ),
            ],
            "Hand over to the team lead and keep an eye on time so Q&A is not squeezed.",
        ),
        _section(
            "sec_brRanPLs4A6sZwWvjXu6",
            "What is next",
            "title_and_body",
            [
                _heading("What is next", 2),
                _bullets(
                    "[Priority for the coming month and why it matters]",
                    "[Upcoming date: launch, offsite or deadline]",
                    "[Change people should know about: process, tool or policy]",
                ),
            ],
            "Connect each priority to the company goals so people see how their work fits in.",
        ),
        _section(
            "sec_6aitHM0X06N9kP5l29ZF",
            "Q&A",
            "closing",
            [
                _heading("Questions?"),
                _para(
                    "Ask live or post in [channel]. Unanswered questions get a written "
                    "reply by [day]."
                ),
            ],
            "Start with the most up-voted question, and commit to following up on anything "
            "you cannot answer now.",
        ),
    ],
)

_PORTFOLIO = _template(
    "tpl_lBX33gUbwIwQNCD2uFJl",
    "Portfolio",
    "Showcase your best work, how you approach problems and the results you achieved.",
    ["portfolio", "design", "personal"],
    [
        _section(
            "sec_7HG6mGJHXbnBql99gGWJ",
            "[Your name]",
            "title",
            [
                _heading("[Your name]"),
                _para("[Role, e.g. Product designer] · [City] · [portfolio URL]"),
            ],
            "Introduce yourself with the kind of work you do best and the kind of role you "
            "are looking for.",
        ),
        _section(
            "sec_YunfitflwH3e1QOCwal4",
            "About me",
            "two_column",
            [
                _heading("About me", 2),
                _para(
                    "I [design / build / write] [what] for [whom]. Over [N] years I have "
                    "worked with [types of teams or clients], focusing on [speciality]."
                ),
                _image("Headshot", "Portrait photo of [your name]", "[Your name]"),
            ],
            "Keep it personal and short: one sentence about what drives your work is enough.",
        ),
        _section(
            "sec_bayvfzTHBKBahA3V4ibY",
            "Selected work",
            "title_and_body",
            [
                _heading("Selected work", 2),
                _bullets(
                    "[Project A]: [one-line result, e.g. raised sign-ups 30%]",
                    "[Project B]: [one-line result]",
                    "[Project C]: [one-line result]",
                ),
            ],
            "Preview the projects you will show and why you picked them for this audience.",
        ),
        _section(
            "sec_5BwH21QfOcC4WYQAaw0O",
            "[Project A]",
            "image",
            [
                _image(
                    "Project A hero",
                    "Main image of project A",
                    "[Project A] · [client or company] · [year]",
                ),
            ],
            "Let the image sit for a moment before you speak, then say what the audience is "
            "looking at.",
        ),
        _section(
            "sec_nk7V6v8t6hzc8C4ZqrdM",
            "[Project A]: the story",
            "title_and_body",
            [
                _heading("Challenge", 3),
                _para("[What was wrong or missing, and for whom.]"),
                _heading("Approach and outcome", 3),
                _bullets(
                    "My role: [what you personally did]",
                    "Approach: [research, iterations, key decision]",
                    "Outcome: [measurable result]",
                ),
            ],
            "Focus on the decisions you made and why; the reasoning matters more than the "
            "final pixels.",
        ),
        _section(
            "sec_GrVBUwuR00gCys640TpJ",
            "What people say",
            "quote",
            [
                _quote(
                    "[A short quote from a client, manager or collaborator about working "
                    "with you.]",
                    "[Name, Title, Company]",
                ),
            ],
            "Let the quote do the talking, and mention the project you worked on together.",
        ),
        _section(
            "sec_mDRyYpkKZI34JG648QDA",
            "Contact",
            "closing",
            [
                _heading("Let's work together"),
                _bullets("[email]", "[portfolio URL]", "[LinkedIn or other profile]"),
            ],
            "Close by saying what kind of project or role you would love to take on next.",
        ),
    ],
)

# Template and section ids are fixed: clients and stored decks refer to them, so never change them.
BUILTIN_TEMPLATES: tuple[dict[str, Any], ...] = (
    _PITCH_DECK,
    _QUARTERLY_BUSINESS_REVIEW,
    _SALES_PROPOSAL,
    _RESEARCH_REPORT,
    _PROJECT_PROPOSAL,
    _HOW_TO_GUIDE,
    _ALL_HANDS,
    _PORTFOLIO,
)

_BY_ID: dict[str, dict[str, Any]] = {t["id"]: t for t in BUILTIN_TEMPLATES}


def builtin_template(template_id: str) -> dict[str, Any] | None:
    """Return the built-in template with this id, or None if there is none."""
    return _BY_ID.get(template_id)
