"""The "Demo Co" workspace that ``make run`` loads once (``flask crm seed-demo``): a small tea
wholesaler in Shanghai with a team of three, and enough customers, purchases, follow-ups, deals and
complaints that every page has something to show. Everything is made through the services the
pages use (search texts, identities, audit entries and customer classes as a member would leave
them), in English and Chinese, with dates counted back from today so the demo never ages: some
tasks are overdue, a few birthdays are this week, some customers are new and some have gone quiet.
Every fresh demo is the same."""

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask import g

from crm.activities.service import log_activity, log_deal_activity, set_done
from crm.auth.service import create_user, user_by_email
from crm.contacts import classification
from crm.contacts.models import SavedView
from crm.contacts.service import create_company, create_contact
from crm.deals import service as deals
from crm.deals.models import OPEN, LostReason, Pipeline
from crm.extensions import db
from crm.notes.service import create_note
from crm.products.service import add_item, create_product
from crm.purchases.service import add_purchases
from crm.tenancy import workspace_scope
from crm.tickets import service as tickets
from crm.tickets.models import PHONE, PORTAL, PUBLIC, RESOLVED, TicketCategory
from crm.workspaces.models import Membership, Role, Workspace
from crm.workspaces.service import membership_of, sign_up

TIMEZONE = "Asia/Shanghai"
TEAM = (("Li Wei", "li.wei@demo-co.example.com", "sales"), ("Grace Chen", "grace@demo-co.example.com", "support"))
NOTES = (
    "Welcome to the Demo Co workspace. Notes here are seen by the whole team.",
    "欢迎使用客户管理系统：这里的便签全体同事可见。",
)
# (name, industry, size, website, city, country)
COMPANIES = (
    ("Jade Garden Restaurants", "Hospitality", "51-200", "https://jadegarden.example.com", "Shanghai", "CN"),
    ("上海云雾茶社", "Retail", "11-50", None, "上海", "CN"),
    ("Northwind Cafés", "Hospitality", "11-50", "https://northwind-cafes.example.com", "London", "GB"),
    ("Blue Harbor Hotels", "Hospitality", "201-1000", "https://blueharbor.example.com", "Singapore", "SG"),
    ("杭州龙井贸易有限公司", "Wholesale", "11-50", "https://longjing-trade.example.cn", "杭州", "CN"),
    ("Maple & Co. Grocers", "Retail", "1-10", None, "Toronto", "CA"),
)
PRODUCTS = (("Longjing green tea, 250 g", "LJ-250", "68.00"), ("Tieguanyin oolong, 250 g", "TGY-250", "55.00"),
            ("Pu-erh cake, 357 g", "PE-357", "120.00"), ("Yixing teapot", "YX-POT", "380.00"),
            ("Tea tasting workshop", "WS-01", "1500.00"))  # fmt: skip


@dataclass(frozen=True)
class Person:
    name: str
    email: str | None
    phone: str | None
    company: int | None  # index in COMPANIES
    title: str
    source: str
    tags: tuple[str, ...]
    spend: str  # how they buy: "big", "growing", "steady", "small", "new", "quiet", "gone", "none"
    birthday_in: int | None = None  # days from today to their next birthday


PEOPLE = (
    Person("Chen Jing", "chen.jing@jadegarden.example.com", "+8613812345678", 0, "Purchasing manager", "Trade fair",
           ("wholesale", "restaurant"), "big", birthday_in=3),
    Person("王芳", "wangfang@yunwu.example.cn", "+8613900011122", 1, "店长", "Referral", ("retail",), "growing"),
    Person("Oliver Smith", "oliver@northwind-cafes.example.com", "+447700900123", 2, "Owner", "Website",
           ("cafe", "newsletter"), "steady"),
    Person("Amelia Brown", "amelia@northwind-cafes.example.com", None, 2, "Head barista", "Website", ("cafe",),
           "small", birthday_in=6),
    Person("Tan Wei Ming", "weiming.tan@blueharbor.example.com", "+6591234567", 3, "F&B director", "Trade fair",
           ("wholesale", "hotel"), "big"),
    Person("李娜", "lina@longjing-trade.example.cn", "+8613600022233", 4, "采购", "Cold call", ("wholesale",),
           "growing"),
    Person("张伟", "zhangwei@longjing-trade.example.cn", "+8613700033344", 4, "总经理", "Cold call",
           ("wholesale", "vip-watch"), "quiet"),
    Person("Sophie Martin", "sophie.martin@example.com", "+33612345678", None, "Tea blogger", "Social media",
           ("newsletter",), "new"),
    Person("Emma Wilson", "emma@maple-grocers.example.com", "+14165550123", 5, "Owner", "Website", ("retail",),
           "steady"),
    Person("刘洋", "liuyang@example.cn", "+8615800044455", None, "", "Walk-in", ("retail",), "gone"),
    Person("James Taylor", "james.taylor@example.com", None, None, "Office manager", "Website", ("newsletter",),
           "none"),
    Person("赵敏", "zhaomin@example.cn", "+8618600055566", None, "茶艺师", "Referral", ("workshop",), "small",
           birthday_in=1),
    Person("Lucas Garcia", "lucas@blueharbor.example.com", "+6598765432", 3, "Sous chef", "Trade fair", ("hotel",),
           "new"),
    Person("孙丽", "sunli@yunwu.example.cn", "+8613100066677", 1, "财务", "Referral", ("retail",), "quiet"),
    Person("Hannah Lee", None, "+8613300077788", None, "", "Walk-in", (), "none"),
)  # fmt: skip
# (kind, days ago, text, person index)
ACTIVITIES = (
    ("call", 2, "Called about the spring Longjing; wants a tasting before ordering 20 kg.", 0),
    ("meeting", 9, "Visited the Jade Garden kitchen; they serve our Tieguanyin in all four restaurants.", 0),
    ("email", 4, "发送了新茶价格表和样品寄送时间。", 1),
    ("note", 20, "Prefers invoices by email, monthly.", 2),
    ("call", 35, "Asked for a discount on pu-erh for the winter menu.", 4),
    ("meeting", 12, "在杭州茶博会见面，对方有意扩大采购量。", 5),
    ("note", 400, "Stopped ordering after the owner retired; shop may have closed.", 9),
    ("email", 1, "Welcome email with the tasting workshop dates.", 7),
    ("call", 200, "聊了明年的合作，暂时没有新订单。", 6),
)  # fmt: skip
# (text, due in days (negative: overdue), person index, assignee: 0 owner, 1 Li Wei, 2 Grace)
TASKS = (
    ("Send Chen Jing the tasting samples", -2, 0, 1),
    ("Call 张伟 before he goes quiet for good", -1, 6, 0),
    ("Confirm the workshop booking with 赵敏", 0, 11, 0),
    ("Quote Blue Harbor for the new hotel", 3, 4, 1),
    ("Follow up Sophie's first order", 7, 7, 0),
    ("Check Maple & Co.'s delivery address", 10, 8, 2),
)
# (title, stage index, value, person index, days to close (None: closed))
DEALS = (
    ("Jade Garden: spring Longjing, 20 kg", 2, "12000", 0, 14),
    ("Blue Harbor: new hotel tea menu", 1, "45000", 4, 45),
    ("云雾茶社 新店开业", 0, "8000", 1, 30),
    ("龙井贸易 年度框架协议", 3, "60000", 5, 10),
    ("Northwind: teapots for the tables", 0, "3800", 2, 60),
    ("Tasting workshop for Sophie's readers", 1, "1500", 7, 21),
)
# (subject, text, person index, channel, category index, status after)
TICKETS = (
    ("Broken teapot lid in the last delivery", "Two of the six Yixing teapots arrived with broken lids.", 2, PORTAL,
     0, "open"),
    ("送货晚了三天", "上周订的龙井晚了三天才到，影响了门店销售。", 1, PORTAL, 1, "new"),
    ("Invoice shows the wrong amount", "The March invoice charges 25 kg; we received 20 kg.", 0, PHONE, 2,
     RESOLVED),
)  # fmt: skip
SPENDING = {
    # (days ago, product index, quantity) per purchase
    "big": ((20, 0, 120), (75, 2, 40), (130, 1, 100), (200, 3, 6), (300, 0, 40), (420, 0, 30)),
    "growing": ((15, 0, 25), (90, 1, 20), (160, 2, 8), (500, 0, 5)),
    "steady": ((40, 1, 10), (150, 0, 8), (260, 1, 10), (450, 0, 9), (600, 1, 10)),
    "small": ((60, 1, 2), (240, 0, 1)),
    "new": ((10, 0, 3),),
    "quiet": ((210, 2, 15), (330, 0, 20), (520, 2, 10)),
    "gone": ((420, 1, 3), (700, 0, 4)),
    "none": (),
}


def load_demo(email: str, password: str) -> bool:
    """The "Demo Co" workspace, its owner (``email``), team and customers; False if already there."""
    if user_by_email(email) is not None:
        return False
    user, workspace = sign_up("Demo Owner", email, password, "Demo Co", TIMEZONE)
    db.session.flush()
    g.audit_actor = user  # the History panels and the audit log name the owner, not "Someone"
    with workspace_scope(workspace.id):
        _Demo(workspace, membership_of(user), password).load()
    db.session.commit()
    return True


class _Demo:
    def __init__(self, workspace: Workspace, owner: Membership, password: str):
        self.workspace, self.owner, self.password = workspace, owner, password
        self.today = classification.today_in(workspace)
        self.team: list[int] = [owner.id]
        self.companies: list[int] = []
        self.contacts: list = []
        self.products: list = []

    def load(self) -> None:
        for body in NOTES:
            create_note(self.owner, body)
        self._team()
        self._companies()
        self._products()
        self._people()
        self._activities()
        self._deals()
        self._tickets()
        for name, query in (("VIP customers", "level=vip"), ("Potential customers", "level=potential")):
            db.session.add(SavedView(name=name, query=query, owner_id=self.owner.id, shared=True, list_name="contacts"))

    def _at(self, days_ago: int, hour: int = 10) -> datetime:
        """A moment ``days_ago`` days before today, at ``hour`` o'clock in Shanghai (UTC+8)."""
        return datetime.combine(self.today - timedelta(days=days_ago), time(hour - 8 if hour >= 8 else 0), UTC)

    def _team(self) -> None:
        for name, email, role in TEAM:
            user = user_by_email(email) or create_user(name, email, self.password)
            role_id = db.session.scalar(sa.select(Role.id).where(Role.builtin == role))
            member = Membership(user_id=user.id, role_id=role_id)
            db.session.add(member)
            db.session.flush()
            self.team.append(member.id)

    def _companies(self) -> None:
        for index, (name, industry, size, website, city, country) in enumerate(COMPANIES):
            company = create_company({"name": name, "industry": industry, "size": size, "website": website,
                                      "city": city, "country": country, "owner_id": self.team[index % 2]})  # fmt: skip
            self.companies.append(company.id)

    def _products(self) -> None:
        currency = self.workspace.currency
        for name, sku, price in PRODUCTS:
            data = {"name": name, "sku": sku, "unit_price": Decimal(price), "currency": currency,
                    "tax_rate": Decimal("13")}  # fmt: skip
            self.products.append(create_product(data))

    def _people(self) -> None:
        for index, person in enumerate(PEOPLE):
            contact = create_contact(self._contact_data(index, person))
            contact.created_at = self._at(max([days for days, *_ in SPENDING[person.spend]] + [5]) + 10)
            purchases = [self._purchase(*bought) for bought in reversed(SPENDING[person.spend])]
            add_purchases(contact, self.workspace, purchases, self.today)  # classified once, after them all
            self.contacts.append(contact)

    def _contact_data(self, index: int, person: Person) -> dict:
        birthday = None
        if person.birthday_in is not None:
            upcoming = self.today + timedelta(days=person.birthday_in)
            birthday = upcoming.replace(year=upcoming.year - 30 - index)
        return {
            "name": person.name, "emails": [person.email] if person.email else [],
            "phones": [person.phone] if person.phone else [],
            "company_id": self.companies[person.company] if person.company is not None else None,
            "title": person.title or None, "source": person.source, "birthday": birthday,
            "owner_id": None if person.spend == "none" else self.team[index % 2], "tags": list(person.tags),
        }  # fmt: skip

    def _purchase(self, days_ago: int, product_index: int, quantity: int) -> dict:
        product = self.products[product_index]
        quantity, price = Decimal(quantity), product.unit_price
        return {"purchased_on": self.today - timedelta(days=days_ago), "product": product.name, "quantity": quantity,
                "unit_price": price, "amount": quantity * price}  # fmt: skip

    def _activities(self) -> None:
        for kind, days_ago, body, person in ACTIVITIES:
            contact = self.contacts[person]
            data = {"kind": kind, "body": body, "occurred_at": self._at(days_ago, 15)}
            log_activity(contact, self.team[person % 2], data)
        for body, due_in, person, assignee in TASKS:
            due = datetime.combine(self.today + timedelta(days=due_in), time(9), UTC)  # 17:00 in Shanghai
            data = {"kind": "task", "body": body, "due_at": due, "assignee_id": self.team[assignee]}
            log_activity(self.contacts[person], self.owner.id, data)
        done = log_activity(
            self.contacts[2],
            self.team[1],
            {"kind": "task", "body": "Send Oliver the price list", "due_at": self._at(5), "assignee_id": self.team[1]},
        )
        set_done(done, True)
        rules = classification.rules_of(self.workspace)
        for contact in self.contacts:  # in touch lately: active again
            classification.reclassify(contact, rules, self.today, self.workspace.timezone)

    def _deals(self) -> None:
        pipeline = db.session.scalars(sa.select(Pipeline).order_by(Pipeline.position)).first()
        open_stages = [stage for stage in deals.stages_of(pipeline.id) if stage.kind == OPEN]
        for title, stage, value, person, close_in in DEALS:
            contact = self.contacts[person]
            data = {"title": title, "value": Decimal(value), "currency": self.workspace.currency,
                    "contact_id": contact.id, "company_id": contact.company_id, "owner_id": contact.owner_id,
                    "expected_close_on": self.today + timedelta(days=close_in)}  # fmt: skip
            deal = deals.create_deal(data, open_stages[stage], contact.owner_id)
            if stage >= 2:
                log_deal_activity(deal, self.team[1], {"kind": "call", "body": "Walked through the proposal.",
                                                       "occurred_at": self._at(3, 11)})  # fmt: skip
        self._closed_deals(open_stages[0])

    def _closed_deals(self, first_stage) -> None:
        chen, emma = self.contacts[0], self.contacts[8]
        won = deals.create_deal({"title": "Jade Garden: winter pu-erh", "value": Decimal("0"),
                                 "currency": self.workspace.currency, "contact_id": chen.id,
                                 "company_id": chen.company_id, "owner_id": chen.owner_id}, first_stage,
                                chen.owner_id)  # fmt: skip
        add_item(won, self.products[2], {"quantity": Decimal(20)})
        deals.win_deal(won, self.workspace, self.today, self.owner.id, with_purchase=True)
        lost = deals.create_deal({"title": "Maple & Co.: teapots", "value": Decimal("2280"),
                                  "currency": self.workspace.currency, "contact_id": emma.id,
                                  "company_id": emma.company_id, "owner_id": emma.owner_id}, first_stage,
                                 emma.owner_id)  # fmt: skip
        reason = db.session.scalars(sa.select(LostReason).order_by(LostReason.position)).first()
        deals.lose_deal(lost, reason, "Found cheaper teapots locally.", self.today, self.owner.id)

    def _tickets(self) -> None:
        categories = list(db.session.scalars(sa.select(TicketCategory).order_by(TicketCategory.position)))
        for subject, body, person, channel, category, status in TICKETS:
            contact = self.contacts[person]
            author = self.team[2] if channel != PORTAL else None
            ticket, _token = tickets.open_ticket(
                contact=contact, subject=subject, body=body, channel=channel, category_id=categories[category].id,
                requester_name=contact.name, requester_email=(contact.emails or [None])[0], author_id=author,
            )  # fmt: skip
            if status != "new":
                tickets.assign(ticket, self.team[2])
                tickets.add_reply(ticket, "Sorry about this. We are checking it and will write again today.",
                                  kind=PUBLIC, author_id=self.team[2])  # fmt: skip
            if status == RESOLVED:
                tickets.set_status(ticket, RESOLVED, self.team[2])
                tickets.rate(ticket, 5, "Fixed the same day, thank you.")
