"""Realistic, seeded field values for the bench data: English and Chinese names and companies,
E.164 phones, e-mail addresses, tags and skewed purchase amounts. Every function takes the
caller's ``random.Random`` so the same seed always gives the same rows."""

import random
from datetime import date, timedelta
from decimal import Decimal


def words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


EN_FIRST = words(
    "James Mary John Patricia Robert Jennifer Michael Linda David Elizabeth William Barbara Richard Susan "
    "Joseph Jessica Thomas Sarah Charles Karen Daniel Lisa Matthew Nancy Anthony Sandra Mark Ashley Emma Olivia "
    "Noah Liam Sophia Ava Lucas Mia Ethan Chloe Grace Henry Amelia Oliver Isla Jack Ruby Leo Freya"
)
EN_LAST = words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Wilson Anderson "
    "Thomas Taylor Moore Jackson Martin Lee Thompson White Harris Clark Lewis Robinson Walker Young Allen King "
    "Wright Scott Green Baker Adams Nelson Hill Campbell Mitchell Roberts Carter Phillips Evans Turner Parker"
)
RARE_LAST = "Quixley"  # about one English contact in 20,000: the bench's rare search term
CN_SURNAMES = (
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"), ("黄", "huang"),
    ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"), ("徐", "xu"), ("孙", "sun"), ("马", "ma"), ("朱", "zhu"),
    ("胡", "hu"), ("郭", "guo"), ("何", "he"), ("林", "lin"), ("高", "gao"), ("罗", "luo"),
)  # fmt: skip
CN_GIVEN = (
    ("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"), ("强", "qiang"),
    ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("勇", "yong"), ("艳", "yan"), ("杰", "jie"), ("涛", "tao"),
    ("明", "ming"), ("超", "chao"), ("秀英", "xiuying"), ("小明", "xiaoming"), ("建华", "jianhua"), ("婷", "ting"),
)  # fmt: skip
COMPANY_WORDS = words(
    "Northwind Contoso Fabrikam Globex Initech Umbrella Acme Stark Wayne Pioneer Summit Harbor Maple Cedar "
    "Silver Blue Falcon Orion Atlas Vertex Beacon Crescent Evergreen Horizon Keystone Lighthouse Meridian"
)
COMPANY_KINDS = words("Trading Foods Logistics Software Textiles Electronics Furniture Health Travel Studio")
COMPANY_SUFFIXES = ("Ltd", "Inc", "LLC", "Co", "Group", "GmbH", "Pte Ltd")
CN_CITIES = (
    ("上海", "shanghai"),
    ("北京", "beijing"),
    ("深圳", "shenzhen"),
    ("广州", "guangzhou"),
    ("杭州", "hangzhou"),
)
CN_BRANDS = (("华信", "huaxin"), ("宏达", "hongda"), ("金源", "jinyuan"), ("恒通", "hengtong"), ("新天地", "xintiandi"))
CN_KINDS = ("贸易有限公司", "科技有限公司", "食品有限公司", "物流有限公司", "服饰有限公司")
MAIL_DOMAINS = ("gmail.com", "outlook.com", "yahoo.com", "icloud.com", "qq.com", "163.com")
US_AREA_CODES = (212, 310, 312, 415, 503, 617, 646, 650, 702, 713, 805, 917)
UK_MOBILE_PREFIXES = (7400, 7500, 7800, 7900)
CITIES = (
    ("New York", "NY", "US"), ("San Francisco", "CA", "US"), ("London", "England", "GB"),
    ("Shanghai", "上海", "CN"), ("Beijing", "北京", "CN"), ("Shenzhen", "广东", "CN"), ("Singapore", None, "SG"),
)  # fmt: skip
TITLES = ("CEO", "Founder", "Buyer", "Purchasing Manager", "Sales Director", "Engineer", "采购经理", "总经理", None)
SOURCES = ("website", "referral", "trade show", "cold call", "import", "展会", "微信", None)
INDUSTRIES = ("Retail", "Wholesale", "Manufacturing", "Software", "Food & Beverage", "Logistics", "Healthcare")
COMPANY_SIZES = ("1-10", "11-50", "51-200", "201-1000", "1000+")
GENDERS = ("female", "male", "other", None)
# Ranked by popularity: the first is on about a quarter of contacts, the last on a few in a thousand.
TAGS = (
    "newsletter", "vip", "wholesale", "retail", "回头客", "referral", "trade-show", "展会", "reseller", "b2b",
    "partner", "prospect", "批发", "upsell", "support", "重点客户", "event-2024", "lapsed", "beta", "press",
)  # fmt: skip
TAG_WEIGHTS = tuple(1 / (rank + 1) for rank in range(len(TAGS)))


def person(rng: random.Random) -> tuple[str, str, bool]:
    """A name, an ASCII handle for the e-mail address, and whether the name is Chinese (40%)."""
    if rng.random() < 0.4:
        (surname, s_pinyin), (given, g_pinyin) = rng.choice(CN_SURNAMES), rng.choice(CN_GIVEN)
        return surname + given, f"{g_pinyin}.{s_pinyin}", True
    first = rng.choice(EN_FIRST)
    last = RARE_LAST if rng.random() < 1 / 20_000 else rng.choice(EN_LAST)
    return f"{first} {last}", f"{first}.{last}".lower(), False


def company(rng: random.Random) -> tuple[str, str]:
    """A company name and its web domain: English (60%) or Chinese."""
    if rng.random() < 0.4:
        (city, c_pinyin), (brand, b_pinyin) = rng.choice(CN_CITIES), rng.choice(CN_BRANDS)
        return city + brand + rng.choice(CN_KINDS), f"{b_pinyin}-{c_pinyin}.cn"
    word, kind = rng.choice(COMPANY_WORDS), rng.choice(COMPANY_KINDS)
    return f"{word} {kind} {rng.choice(COMPANY_SUFFIXES)}", f"{word}{kind}.com".lower()


def phone(rng: random.Random, chinese: bool) -> str:
    """An E.164 mobile number: Chinese, or American / British."""
    if chinese:
        return f"+861{rng.choice('38')}{rng.randrange(10**9):09d}"
    if rng.random() < 0.8:
        return f"+1{rng.choice(US_AREA_CODES)}{rng.randrange(200, 1000)}{rng.randrange(10_000):04d}"
    return f"+44{rng.choice(UK_MOBILE_PREFIXES)}{rng.randrange(10**6):06d}"


def emails(rng: random.Random, handle: str, domain: str | None) -> list[str]:
    """None to two addresses: a personal one and, with a company, a work one."""
    found = []
    if rng.random() < 0.75:
        found.append(f"{handle}{rng.randrange(100)}@{rng.choice(MAIL_DOMAINS)}")
    if domain and rng.random() < 0.5:
        found.append(f"{handle}@{domain}")
    return found


def tags(rng: random.Random) -> list[str]:
    count = rng.choices((0, 1, 2, 3), weights=(35, 35, 20, 10))[0]
    return sorted(set(rng.choices(TAGS, weights=TAG_WEIGHTS, k=count)))


# (product, list price): what the purchases are of.
PRODUCTS = (
    ("Green tea 500 g", 12), ("Oolong gift box", 48), ("Porcelain cup set", 35), ("Office tea service, one month", 220),
    ("Tea ceremony workshop", 90), ("茶具套装", 60), ("龙井礼盒", 150), ("Teapot, hand thrown", 75),
)  # fmt: skip


def purchases(rng: random.Random, first: date, last: date) -> list[tuple[date, str, int, Decimal, Decimal]]:
    """A customer's purchases between ``first`` and ``last`` as (day, product, quantity, unit price,
    amount), oldest first. Skewed: 30% never bought; the others' lifetime value is log-normal (median
    about 400, a long tail of big buyers) over 1-12 purchases on random days."""
    days = (last - first).days
    if rng.random() < 0.3 or days < 1:
        return []
    total = min(rng.lognormvariate(6, 1.5), 5_000_000)
    weights = [rng.random() + 0.2 for _ in range(min(1 + int(rng.expovariate(0.5)), 12))]
    bought = []
    for weight in weights:
        product, price = rng.choice(PRODUCTS)
        share = total * weight / sum(weights)
        quantity = max(1, round(share / price))
        unit_price = Decimal(str(round(share / quantity, 2))) or Decimal("0.01")
        bought.append(
            (first + timedelta(days=rng.randrange(days)), product, quantity, unit_price, unit_price * quantity)
        )
    return sorted(bought)
