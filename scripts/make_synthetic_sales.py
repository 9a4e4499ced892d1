"""Write src/rapport/demo/sales_synthetic.csv: SYNTHETIC sales linked to the
customers of the TWCS demo (`rapport sales import` format).

Nothing here is real sales data. For each customer who wrote to a brand in
the demo (an inbound author), with probability 0.6 we draw 1-6 purchases
(geometric), each from the brand that customer wrote to first: a product
name and a price from that brand's sector (log-normal around a sector
median), a currency by the brand's country, a date uniform over
2017-06-01 .. 2018-02-28, and 8 % of rows are `refunded` instead of `won`.
The draws use only the customer's id and brand, never what they wrote,
whether we answered or how it went: any difference the social-to-sales
report shows on this file is chance (that is what the file is for: to
exercise the computation, not to prove anything).

    python scripts/make_synthetic_sales.py [SEED]
"""

from __future__ import annotations

import csv
import math
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "src" / "rapport" / "demo" / "twcs_head_5k.csv"
OUT = ROOT / "src" / "rapport" / "demo" / "sales_synthetic.csv"

GBP = {
    "AldiUK", "ArgosHelpers", "British_Airways", "GWRHelp", "LondonMidland", "Morrisons",
    "O2", "Tesco", "TfL", "VirginAtlantic", "VirginTrains", "marksandspencer",
    "nationalrailenq", "sainsburys",
}
INR = {"airtel_care", "idea_cares"}
KES = {"Safaricom_Care"}
SECTORS = {
    "travel": ({"AirAsiaSupport", "AlaskaAir", "AmericanAir", "British_Airways", "Delta",
                "JetBlue", "SouthwestAir", "SW_Help", "VirginAmerica", "VirginAtlantic",
                "IHGService", "Kimpton", "AirbnbHelp"}, "ticket", 320.0),
    "rail": ({"GWRHelp", "LondonMidland", "VirginTrains", "nationalrailenq", "TfL"},
             "rail fare", 38.0),
    "food": ({"AskPapaJohns", "ChipotleTweets", "DunkinDonuts", "McDonalds", "askpanera",
              "DoorDash_Help", "Postmates_Help", "JackBox"}, "meal", 14.0),
    "grocery": ({"AldiUK", "Morrisons", "Tesco", "sainsburys", "marksandspencer", "Walmart",
                 "AskTarget"}, "groceries", 62.0),
    "telecom": ({"Ask_Spectrum", "BoostCare", "CenturyLinkHelp", "CoxHelp", "O2",
                 "TMobileHelp", "USCellularCares", "VerizonSupport", "comcastcares",
                 "sprintcare", "airtel_care", "idea_cares", "Safaricom_Care", "GloCare"},
                "monthly plan", 75.0),
    "tech": ({"AppleSupport", "HPSupport", "MicrosoftHelps", "NeweggService", "XboxSupport",
              "AskPlayStation", "AdobeCare", "AzureSupport", "DropboxSupport", "GoDaddyHelp",
              "SpotifyCares", "hulu_support", "YahooCare", "asksalesforce", "ATVIAssist"},
             "order", 110.0),
}
DEFAULT = ("retail", "order", 55.0)
START = datetime(2017, 6, 1, tzinfo=UTC)
SPAN_DAYS = (datetime(2018, 2, 28, tzinfo=UTC) - START).days


def sector(brand: str) -> tuple[str, str, float]:
    for name, (brands, product, median) in SECTORS.items():
        if brand in brands:
            return name, product, median
    return DEFAULT


def currency(brand: str) -> str:
    return "GBP" if brand in GBP else "INR" if brand in INR else "KES" if brand in KES else "USD"


def main(seed: int = 11) -> None:
    with DEMO.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    by_id = {r["tweet_id"]: r for r in rows}
    first_brand: dict[str, str] = {}
    for r in sorted(rows, key=lambda r: int(r["tweet_id"])):
        if r["inbound"] != "True" or r["author_id"] in first_brand:
            continue
        parent = by_id.get(r["in_response_to_tweet_id"])
        brand = None
        if parent is not None and parent["inbound"] == "False":
            brand = parent["author_id"]
        else:
            for word in r["text"].split():
                if word.startswith("@") and not word[1:].rstrip(":,.!?").isdigit():
                    brand = word[1:].rstrip(":,.!?")
                    break
        if brand:
            first_brand[r["author_id"]] = brand
    out = []
    for customer in sorted(first_brand, key=int):
        rng = random.Random(f"{seed}:{customer}")
        if rng.random() >= 0.6:
            continue
        brand = first_brand[customer]
        name, product, median = sector(brand)
        n = 1
        while n < 6 and rng.random() < 0.45:
            n += 1
        for _ in range(n):
            amount = median * math.exp(rng.gauss(0.0, 0.6))
            if currency(brand) == "INR":
                amount *= 65
            elif currency(brand) == "KES":
                amount *= 100
            when = START + timedelta(days=rng.uniform(0, SPAN_DAYS))
            stage = "refunded" if rng.random() < 0.08 else "won"
            out.append(
                [
                    f"twitter:{customer}",
                    f"{amount:.2f}",
                    currency(brand),
                    when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    f"{brand} {product} ({name}, synthetic)",
                    stage,
                ]
            )
    with OUT.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["identity", "amount", "currency", "date", "product", "stage"])
        writer.writerows(out)
    print(f"{OUT}: {len(out)} synthetic sales for {len({r[0] for r in out})} customers")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 11)
