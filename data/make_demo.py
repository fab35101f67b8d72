"""Writes the demo knowledge base files: demo_requesters.jsonl and demo_incidents.jsonl (see data/README.md).

    python data/make_demo.py

Deterministic (fixed seed): running it again gives the same files. The problems and their wording come from
``demo_scenarios.toml``; this script invents the people, the timeline and the way each report is put together.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
import re
import tomllib
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

SEED = 20261122
N_INCIDENTS = 1650
JST = ZoneInfo("Asia/Tokyo")
START = dt.datetime(2025, 10, 1, tzinfo=JST)
NOW = dt.datetime(2026, 11, 20, 18, 0, tzinfo=JST)  # the demo's "today": the newest cases are still open
HERE = Path(__file__).resolve().parent
SCENARIOS_FILE = HERE / "demo_scenarios.toml"
Scenario = dict[str, Any]  # one [[scenario]] table of the TOML file

DOMAIN, LEGACY_DOMAIN, PERSONAL_DOMAIN = "kitsune-trading.example", "minato-logistics.example", "mail.example"

PHRASES = {
    "greeting": (
        "Hi,|Hello IT,|Hi team,|Good morning,|Hello,|Hi helpdesk,||",
        "お疲れ様です。|お世話になっております。|情報システム部の皆様|ヘルプデスク御中|お疲れさまです。||",
    ),
    "intro": ("This is {first} from {dept}.|{first} here ({dept}).", "{dept}の{surname}です。|{dept} {surname}です。"),
    "tried": (
        "I've already restarted my PC.|I logged out and back in, no change.|I tried a different browser.|"
        "Restarting didn't help.|I checked the cables.|I tried again after 30 minutes.",
        "PCの再起動は試しました。|一度サインアウトしてから入り直しましたが変わりません。|別のブラウザーでも試しました。|"
        "再起動しても改善しません。|ケーブルは確認しました。|30分おいてから再度試しました。",
    ),
    "team": (
        "Two colleagues next to me have the same issue.|A few people in my team see this too.|"
        "My whole team seems to have the same problem.",
        "隣の席の2名も同じ症状です。|チームの数名も同じ状態です。|チーム全員が同じ状況のようです。",
    ),
    "widespread": (
        "The whole {floor} is affected.|About {n} people at {site} have the same problem.|Everyone in the office "
        "is affected, nobody can work.|This is affecting the entire sales team at {site}.",
        "{floor}全体で発生しています。|{site}の約{n}名が同じ状況です。|オフィスの全員が影響を受けていて業務が止まっています。|"
        "{site}の営業部全体に影響が出ています。",
    ),
    "urgent": (
        "I have a client meeting in an hour.|This is urgent, we have a deadline today.|Please help asap.|"
        "I can't do any work until this is fixed.",
        "1時間後に顧客との打ち合わせがあります。|本日締め切りのため至急お願いします。|急ぎで対応をお願いします。|"
        "これが直らないと仕事ができません。",
    ),
    "ask_escalation": (
        "If this can't be fixed quickly, please escalate it to the specialists.|Could someone more senior look "
        "at this?|Please involve the vendor if needed.",
        "すぐに解決できない場合は専門部署にエスカレーションしてください。|上位の担当者に見てもらえますか。|"
        "必要であればベンダーにも連絡してください。",
    ),
    "closing": (
        "Thanks,|Thank you!|Thanks in advance.|Regards,|Many thanks,||",
        "よろしくお願いいたします。|お手数ですがよろしくお願いします。|宜しくお願いします。|以上、よろしくお願いします。|",
    ),
    "urgent_tag": ("[URGENT] |Urgent: ", "【至急】|【緊急】"),
    "escalated_l1": ("Escalated to senior helpdesk ({agent}). ", "上級ヘルプデスク({agent})へエスカレーション。"),
    "escalated_l2": ("Escalated to the {team}. ", "{team}へエスカレーション。"),
    "escalated_l3": ("Escalated to {vendor} via the {team}. ", "{team}経由で{vendor}へエスカレーション。"),
}
LANG_INDEX = {"en": 0, "ja": 1}


def phrase(rng: random.Random, key: str, lang: str) -> str:
    """A random alternative of one of PHRASES (alternatives separated by "|"; an empty one means none)."""
    return rng.choice(PHRASES[key][LANG_INDEX[lang]].split("|"))


def fill(
    rng: random.Random, text: str, lang: str, slots: dict[str, dict[str, list[str]]], extra: dict[str, str]
) -> str:
    """Replace each {name} by the requester's own value, else by a random alternative from ``slots``."""

    def value(match: re.Match) -> str:
        name = match.group(1)
        return extra[name] if name in extra else rng.choice(slots[name][lang])

    return re.sub(r"\{(\w+)\}", value, text)


def make_people(rng: random.Random, names: dict[str, Any]) -> list[dict]:
    """200 requesters, a little over half Japanese; some with a second or third address."""
    surnames = [s.split(":") for s in names["ja_surnames"]]
    given = [g.split(":") for g in names["ja_given"]]
    people, used = [], set()
    while len(people) < 110:
        (sur, sur_r), (giv, giv_r) = rng.choice(surnames), rng.choice(given)
        if (sur, giv) not in used:
            used.add((sur, giv))
            people.append({"lang": "ja", "name": f"{sur} {giv}", "first": giv, "surname": sur,
                           "local": f"{giv_r}.{sur_r}", "initial": f"{giv_r[0]}.{sur_r}"})  # fmt: skip
    while len(people) < 200:
        first, last = rng.choice(names["en_first"]), rng.choice(names["en_last"])
        if (first, last) not in used:
            used.add((first, last))
            people.append({"lang": "en", "name": f"{first} {last}", "first": first, "surname": last,
                           "local": f"{first}.{last}".lower(), "initial": f"{first[0]}.{last}".lower()})  # fmt: skip
    locals_seen: set[str] = set()
    for person in people:
        person["dept"] = rng.choice(names["departments"])
        local = person["local"]
        while local in locals_seen:
            local = f"{person['local']}{rng.randint(2, 9)}"
        locals_seen.add(local)
        person["emails"] = [f"{local}@{DOMAIN}"]
        # Some people also write from the pre-merger domain or a personal address: one person, several addresses.
        if rng.random() < 0.22:
            person["emails"].append(f"{person['initial']}{rng.randint(1, 99)}@{LEGACY_DOMAIN}")
        if rng.random() < 0.07:
            person["emails"].append(f"{local.replace('.', '_')}{rng.randint(70, 99)}@{PERSONAL_DOMAIN}")
        person["activity"] = rng.paretovariate(1.5)  # a few people file many tickets
    return people


def created_time(rng: random.Random) -> dt.datetime:
    span = (NOW - START).days
    while True:
        day = START + dt.timedelta(days=rng.randrange(span))
        if day.weekday() >= 5 and rng.random() < 0.85:
            continue  # few weekend tickets
        hour = min(max(rng.gauss(12.5, 3.0), 0), 23.9)
        return day.replace(hour=int(hour), minute=rng.randrange(60), second=rng.randrange(60))


def scenario_weight(scenario: Scenario, when: dt.datetime) -> float:
    weight = scenario.get("weight", 1.0)
    if scenario["key"] in ("new_hire_access", "mobile_mail_setup") and when.month in (4, 10):
        weight *= 3.5  # April and October intake of new employees
    if scenario["key"] in ("password_reset", "account_locked") and when.month in (1, 5, 8):
        weight *= 1.8  # back from the New Year, Golden Week and Obon holidays
    return weight


# The default ITIL matrix of the settings (pipeline/settings.py): impact row, urgency column -> priority.
MATRIX = {
    "high": {"high": "P1", "medium": "P2", "low": "P3"},
    "medium": {"high": "P2", "medium": "P3", "low": "P3"},
    "low": {"high": "P2", "medium": "P3", "low": "P4"},
}
URGENCY_OF = {"P1": "high", "P2": "high", "P3": "medium", "P4": "low"}


def raise_urgency(urgency: str) -> str:
    return {"low": "medium", "medium": "high", "high": "high"}[urgency]


def agent_priority(rng: random.Random, impact: str, urgency: str) -> str:
    """The matrix's priority, as agents set it: one case in ten a step off, by judgement."""
    priority = MATRIX[impact][urgency]
    if rng.random() < 0.1:
        priority = f"P{min(4, max(1, int(priority[1]) + rng.choice((-1, 1))))}"
    return priority


def compose(rng: random.Random, scenario: Scenario, lang: str, person: dict, slots: dict) -> dict:
    """One report (title, body) of one of the scenario's problems, with its labels (ITIL impact and urgency too)."""
    side = scenario[lang]
    number = rng.randrange(len(side["problems"]))
    problem = side["problems"][number]
    dept = person["dept"][LANG_INDEX[lang]]
    extra = {"first": person["first"], "surname": person["surname"], "dept": dept}
    extra["n"] = str(rng.choice([5, 8, 10, 12, 15, 20, 30, 40]))
    # How urgent this kind of trouble usually is for one person; the wording below may raise it.
    urgency = URGENCY_OF[rng.choices(["P1", "P2", "P3", "P4"], weights=scenario["priority"])[0]]
    impact = "low"
    level = rng.choices(["none", "L1", "L2", "L3"], weights=scenario["escalation"])[0]

    sentences = [problem["symptom"]]
    sentences += rng.sample(side["details"], k=min(len(side["details"]), rng.choice([0, 1, 1, 2, 2, 3])))
    scope = rng.random()
    if scenario.get("widespread") and scope < 0.35:
        sentences.append(phrase(rng, "widespread", lang))
        impact = "high"
        urgency = "high" if rng.random() < 0.8 else urgency
        level = level if level != "none" else rng.choice(["L1", "L2"])
    elif scope < 0.15:
        sentences.append(phrase(rng, "team", lang))
        impact = "medium"
    if rng.random() < 0.3:
        sentences.append(phrase(rng, "tried", lang))
    urgent = rng.random() < 0.18
    if urgent:
        sentences.append(phrase(rng, "urgent", lang))
        urgency = raise_urgency(urgency)
    if rng.random() < 0.06:
        sentences.append(phrase(rng, "ask_escalation", lang))
        level = level if level != "none" else "L1"
    priority = agent_priority(rng, impact, urgency)
    if priority == "P1" and level == "none" and rng.random() < 0.6:
        level = "L1"

    lines = []
    greeting = phrase(rng, "greeting", lang)
    if greeting:
        lines.append(greeting)
    if rng.random() < 0.35:
        lines.append(fill(rng, phrase(rng, "intro", lang), lang, slots, extra))
    body_sentences = [fill(rng, sentence, lang, slots, extra) for sentence in sentences]
    if rng.random() < 0.5:
        lines.append(("" if lang == "ja" else " ").join(body_sentences))
    else:
        lines.extend(body_sentences)
    closing = phrase(rng, "closing", lang)
    if closing:
        lines.append(closing + (f"\n{person['first']}" if lang == "en" and closing.endswith(",") else ""))
    title = fill(rng, rng.choice(problem["titles"] + side["titles"]), lang, slots, extra)
    if urgent and rng.random() < 0.5:
        title = phrase(rng, "urgent_tag", lang) + title
    if lang == "en" and rng.random() < 0.1:
        title = title.lower()
    return {
        "title": title,
        "body": "\n".join(lines),
        "priority": priority,
        "escalation_level": level,
        "impact": impact,
        "urgency": urgency,
        "problem": number,
        "extra": extra,
    }


def resolution_text(
    rng: random.Random, scenario: Scenario, lang: str, report: dict, slots: dict, seniors: list[str]
) -> str:
    """How the problem was fixed, with who it went to when it was escalated."""
    i, level = LANG_INDEX[lang], report["escalation_level"]
    text = fill(rng, scenario[lang]["problems"][report["problem"]]["resolution"], lang, slots, report["extra"])
    if level == "none":
        return text
    prefix = phrase(rng, f"escalated_{level.lower()}", lang).format(
        agent=rng.choice(seniors), team=scenario["team"][i], vendor=scenario["vendor"][i]
    )
    return prefix + text


def hours_to_resolve(rng: random.Random, priority: str, level: str) -> float:
    median = {"P1": 3, "P2": 12, "P3": 30, "P4": 70}[priority] * {"none": 1, "L1": 1.6, "L2": 2.5, "L3": 5}[level]
    return median * math.exp(rng.gauss(0, 0.8))


def main() -> None:
    data = tomllib.loads(SCENARIOS_FILE.read_text(encoding="utf-8"))
    scenarios = data["scenario"]
    rng = random.Random(SEED)
    people = make_people(rng, data["people"])
    agents = data["people"]["agents"]
    by_lang = {lang: [p for p in people if p["lang"] == lang] for lang in ("ja", "en")}
    incidents = []
    for _ in range(N_INCIDENTS):
        lang = "ja" if rng.random() < 0.5 else "en"
        author_pool = by_lang[lang] if rng.random() < 0.95 else by_lang["en" if lang == "ja" else "ja"]
        person = rng.choices(author_pool, weights=[p["activity"] for p in author_pool])[0]
        created = created_time(rng)
        scenario = rng.choices(scenarios, weights=[scenario_weight(s, created) for s in scenarios])[0]
        slots = data["slots"] | scenario.get("slots", {})
        report = compose(rng, scenario, lang, person, slots)
        level, priority = report["escalation_level"], report["priority"]
        resolved = created + dt.timedelta(hours=hours_to_resolve(rng, priority, level))
        agent = rng.choice(agents[lang] if rng.random() < 0.85 else agents["en" if lang == "ja" else "ja"])
        email = person["emails"][0] if rng.random() < 0.75 else rng.choice(person["emails"])
        row = {
            "title": report["title"],
            "body": report["body"],
            "language": lang,
            "requester": person["name"],
            "requester_email": email,
            "category": scenario["category"],
            "priority": priority,
            "escalation_level": level,
            "impact": report["impact"],
            "urgency": report["urgency"],
            "assignee": agent,
            "created_at": created.isoformat(timespec="seconds"),
        }
        # Part of the last ten days' work is still open, so the queue has something in it.
        still_open = resolved > NOW or ((NOW - created).days < 10 and rng.random() < 0.45)
        if not still_open:
            row["status"] = "closed" if (NOW - resolved).days > 14 and rng.random() < 0.9 else "resolved"
            row["resolved_at"] = row["updated_at"] = resolved.isoformat(timespec="seconds")
            row["resolution"] = resolution_text(
                rng, scenario, lang, report, slots, data["people"]["senior_agents"][lang]
            )
            row["root_cause"] = scenario[lang]["problems"][report["problem"]]["cause"]
        else:
            row["status"] = rng.choice(
                ["escalated", "in_progress"] if level != "none" else ["new", "in_progress", "waiting_requester"]
            )
            if row["status"] == "new":
                del row["assignee"]
        incidents.append(row)

    incidents.sort(key=lambda r: r["created_at"])
    with open(HERE / "demo_incidents.jsonl", "w", encoding="utf-8") as f:
        for number, row in enumerate(incidents, start=1):
            f.write(json.dumps({"external_id": f"INC-{number:06d}", **row}, ensure_ascii=False) + "\n")
    with open(HERE / "demo_requesters.jsonl", "w", encoding="utf-8") as f:
        for p in people:
            department = p["dept"][LANG_INDEX[p["lang"]]]
            f.write(
                json.dumps({"name": p["name"], "emails": p["emails"], "department": department}, ensure_ascii=False)
            )
            f.write("\n")
    print(f"wrote {len(incidents)} incidents and {len(people)} requesters to {HERE}")


if __name__ == "__main__":
    main()
