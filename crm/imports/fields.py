"""What a column of a spreadsheet of contacts, companies or purchases can fill, and the mapping
guessed from header names in English and Chinese (a custom field is found by its label)."""

import re
from dataclasses import dataclass

from crm.custom_fields import reserved
from crm.custom_fields.service import FieldDef, definitions
from crm.i18n import lazy_gettext as _l

CUSTOM_PREFIX = "cf:"


@dataclass(frozen=True)
class Target:
    key: str
    label: str
    several: bool = False  # more than one column may fill it (all are kept)


TARGETS = (
    Target("name", _l("Name")),
    Target("first_name", _l("First name")),
    Target("last_name", _l("Last name")),
    Target("email", _l("Email address"), several=True),
    Target("phone", _l("Phone number"), several=True),
    Target("company", _l("Company (by name; created when new)")),
    Target("title", _l("Job title")),
    Target("gender", _l("Gender")),
    Target("birthday", _l("Birthday")),
    Target("source", _l("Source")),
    Target("owner", _l("Owner (a member's email address)")),
    Target("tags", _l("Tags"), several=True),
    Target("about", _l("About")),
    Target("street", _l("Street")),
    Target("city", _l("City")),
    Target("region", _l("Region or state")),
    Target("postal_code", _l("Postal code")),
    Target("country", _l("Country (two-letter code)")),
    Target("external_id", _l("ID in your old system")),
)

COMPANY_TARGETS = (
    Target("name", _l("Company name")),
    Target("industry", _l("Industry")),
    Target("size", _l("Size (staff)")),
    Target("website", _l("Website")),
    Target("phone", _l("Phone number")),
    Target("owner", _l("Owner (a member's email address)")),
    Target("customer_since", _l("Customer since")),
    Target("notes", _l("Notes")),
    Target("street", _l("Street")),
    Target("city", _l("City")),
    Target("region", _l("Region or state")),
    Target("postal_code", _l("Postal code")),
    Target("country", _l("Country (two-letter code)")),
)

PURCHASE_TARGETS = (
    Target("email", _l("Customer's email address")),
    Target("phone", _l("Customer's phone number")),
    Target("external_id", _l("Customer's ID in your old system")),
    Target("company", _l("Company (by name; for a purchase of the company as a whole)")),
    Target("purchased_on", _l("Date")),
    Target("product", _l("Product")),
    Target("quantity", _l("Quantity")),
    Target("unit_price", _l("Unit price")),
    Target("amount", _l("Amount")),
    Target("currency", _l("Currency (code, such as CNY or USD)")),
    Target("base_amount", _l("Worth in the workspace currency (for purchases in another currency)")),
)

SYNONYMS = {
    "name": ("name", "full name", "contact", "contact name", "customer", "customer name", "client", "client name",
             "姓名", "名字", "客户", "客户名称", "客户姓名", "联系人", "联系人姓名"),
    "first_name": ("first name", "firstname", "given name", "forename", "名"),
    "last_name": ("last name", "lastname", "surname", "family name", "姓"),
    "email": ("email", "e-mail", "email address", "e-mail address", "mail", "work email", "personal email",
              "email addresses", "邮箱", "电子邮件", "电子邮箱", "邮件", "邮箱地址", "email地址"),
    "phone": ("phone", "telephone", "tel", "mobile", "cell", "phone number", "mobile phone", "mobile number",
              "work phone", "home phone", "phone numbers", "电话", "手机", "手机号", "手机号码", "电话号码",
              "联系电话", "座机", "联系方式"),
    "company": ("company", "company name", "organisation", "organization", "account", "account name", "business",
                "公司", "公司名称", "单位", "企业", "企业名称", "所属公司"),
    "title": ("title", "job title", "position", "job", "role", "职位", "职务", "头衔", "岗位"),
    "gender": ("gender", "sex", "性别"),
    "birthday": ("birthday", "date of birth", "dob", "birth date", "birthdate", "生日", "出生日期"),
    "source": ("source", "channel", "lead source", "来源", "渠道", "客户来源"),
    "owner": ("owner", "account owner", "contact owner", "sales rep", "salesperson", "assigned to",
              "负责人", "销售", "归属人", "所有者", "跟进人"),
    "tags": ("tags", "tag", "labels", "label", "标签"),
    "about": ("about", "notes", "note", "comments", "comment", "description", "备注", "说明", "描述", "简介"),
    "street": ("street", "address", "street address", "address line 1", "地址", "街道", "详细地址"),
    "city": ("city", "town", "城市", "市"),
    "region": ("region", "state", "province", "county", "region or state", "省", "省份", "地区", "州", "省份或州"),
    "postal_code": ("postal code", "postcode", "zip", "zip code", "邮编", "邮政编码"),
    "country": ("country", "country code", "国家", "国家代码", "国家或地区", "国家或地区代码"),
    "external_id": ("id", "external id", "customer id", "customer number", "client id", "record id",
                    "编号", "客户编号", "客户id"),
}  # fmt: skip
COMPANY_SYNONYMS = {
    "name": ("name", "company", "company name", "organisation", "organization", "account", "account name",
             "business", "公司", "公司名称", "企业", "企业名称", "单位", "名称", "客户名称"),
    "industry": ("industry", "sector", "行业", "所属行业"),
    "size": ("size", "employees", "staff", "headcount", "company size", "规模", "人数", "员工人数"),
    "website": ("website", "web", "url", "homepage", "web site", "网站", "官网", "网址"),
    "phone": SYNONYMS["phone"],
    "owner": SYNONYMS["owner"],
    "customer_since": ("customer since", "since", "first order", "客户起始", "合作开始", "签约日期", "成为客户日期"),
    "notes": SYNONYMS["about"],
    "street": SYNONYMS["street"],
    "city": SYNONYMS["city"],
    "region": SYNONYMS["region"],
    "postal_code": SYNONYMS["postal_code"],
    "country": SYNONYMS["country"],
}  # fmt: skip
PURCHASE_SYNONYMS = {
    "email": SYNONYMS["email"] + ("customer email", "客户邮箱"),
    "phone": SYNONYMS["phone"] + ("customer phone", "客户电话"),
    "external_id": SYNONYMS["external_id"],
    "company": SYNONYMS["company"],
    "purchased_on": ("date", "purchase date", "order date", "purchased on", "bought on", "sale date", "日期",
                     "购买日期", "下单日期", "订单日期", "消费日期", "成交日期"),
    "product": ("product", "item", "product name", "goods", "sku", "产品", "商品", "产品名称", "商品名称", "品名"),
    "quantity": ("quantity", "qty", "count", "units", "数量", "件数"),
    "unit_price": ("unit price", "price", "单价", "价格"),
    "amount": ("amount", "total", "sum", "value", "revenue", "金额", "总额", "合计", "总价", "消费金额"),
    "currency": ("currency", "currency code", "币种", "货币", "币别"),
    "base_amount": ("base amount", "worth", "amount in base currency", "本币金额", "折合金额", "折算金额"),
}  # fmt: skip
ENTITY_TARGETS = {"contacts": TARGETS, "companies": COMPANY_TARGETS, "purchases": PURCHASE_TARGETS}
ENTITY_SYNONYMS = {"contacts": SYNONYMS, "companies": COMPANY_SYNONYMS, "purchases": PURCHASE_SYNONYMS}
CUSTOM_ENTITY = {"contacts": "contact", "companies": "company"}  # whose custom fields a file can fill
# The error column of a file we produced: a fixed file comes back with it.
IGNORED = {"error", "errors", "错误"}
# A note in brackets after a heading: "姓名（必填）", "Phone (work)".
NOTE = re.compile(r"[(（\[【][^)）\]】]*[)）\]】]")


def plain(header: str) -> str:
    """A header as mappings compare it: lower-case, separators as single spaces."""
    return re.sub(r"[\s_\-.:：*]+", " ", header.lower()).strip()


_BY_SYNONYM = {
    entity: {plain(word): key for key, words in synonyms.items() for word in words}
    for entity, synonyms in ENTITY_SYNONYMS.items()
}


def known_heading(header: str) -> bool:
    """Whether ``header`` names a field of some kind of file (or is the error column of ours)."""
    name = plain(header)
    return name in IGNORED or any(name in synonyms for synonyms in _BY_SYNONYM.values())


# A contact's sensitive details (crm/contacts/service.py SENSITIVE_FIELDS): a member who may not see
# them may not fill them from a file either (an export of theirs holds none, or masks).
SENSITIVE_TARGETS = frozenset({"phone", "birthday", "street", "city", "region", "postal_code", "country"})


def allowed(entity: str, sensitive: bool) -> set[str]:
    """The built-in targets of ``entity`` a member may fill (``sensitive``: with contacts.sensitive)."""
    keys = {target.key for target in ENTITY_TARGETS[entity]}
    return keys if sensitive or entity != "contacts" else keys - SENSITIVE_TARGETS


def targets_for(custom_fields: list[FieldDef], entity: str = "contacts", sensitive: bool = True) -> list[Target]:
    custom = [Target(CUSTOM_PREFIX + field.key, field.label) for field in custom_fields]
    keys = allowed(entity, sensitive)
    return [*(target for target in ENTITY_TARGETS[entity] if target.key in keys), *custom]


def _built_in(entity: str, header: str) -> str:
    synonyms = _BY_SYNONYM[entity]
    return synonyms.get(plain(header)) or synonyms.get(plain(NOTE.sub(" ", header)), "")


def guess(
    headers: list[str], custom_fields: list[FieldDef], entity: str = "contacts", sensitive: bool = True
) -> list[str]:
    """A target key (or "") per column; a target that takes one column goes to the first match.

    A custom field is found by its label, or by the heading Kehu's exports give it ("Name (custom)"
    when a built-in field is called that too), before a built-in field's synonyms ("Channel" fills
    a custom field of that label rather than the source). A heading that is a built-in field's own
    name ("Name", "姓名", "Region or state"; crm/custom_fields/reserved.py) fills the built-in field
    first, though a custom field made before such labels were refused has it too; a second column
    of that heading (an export made before they were told apart) then fills the custom field."""
    by_label = {plain(text): CUSTOM_PREFIX + field.key for field in custom_fields for text in reserved.headers(field)}
    several = {target.key for target in ENTITY_TARGETS[entity] if target.several}
    keys = allowed(entity, sensitive)
    taken, mapping = set(), []
    for header in headers:
        name = plain(header)
        custom = "" if name in IGNORED else by_label.get(name, "")
        built_in = "" if name in IGNORED else _built_in(entity, header)
        built_in = built_in if built_in in keys else ""
        if custom and built_in and reserved.built_in_field(CUSTOM_ENTITY[entity], header) is not None:
            choices = (built_in, custom)
        else:
            choices = (custom or built_in,)
        key = next((key for key in choices if key and (key not in taken or key in several)), "")
        taken.add(key)
        mapping.append(key)
    return mapping


def from_saved(
    headers: list[str], columns: dict[str, str], guessed: list[str], known: set[str], several: set[str]
) -> list[str]:
    """``guessed`` with every column a saved mapping knows (and whose field still exists) replaced
    by the saved choice. A field that takes one column (not in ``several``) goes to the first column
    given it, as in ``guess``: choices saved from an export whose "Country" held the code would
    otherwise give the country a second time in today's export, after its "Country code"."""
    mapping, taken = [], set()
    for header, guessed_key in zip(headers, guessed, strict=True):
        saved_key = columns.get(plain(header))
        key = saved_key if saved_key is not None and (saved_key in known or saved_key == "") else guessed_key
        key = "" if key in taken and key not in several else key
        taken.add(key)
        mapping.append(key)
    return mapping


def coverage(headers: list[str], columns: dict[str, str]) -> float:
    """The share of the file's named columns a saved mapping knows."""
    names = {plain(header) for header in headers if plain(header) and plain(header) not in IGNORED}
    return len(names & set(columns)) / len(names) if names else 0.0


def custom_fields_of(workspace, entity: str, sensitive: bool = True) -> list[FieldDef]:
    """The custom fields a file of ``entity`` can fill (purchases have none); sensitive ones only for
    a member who may see them."""
    every = definitions(workspace, CUSTOM_ENTITY[entity]) if entity in CUSTOM_ENTITY else []
    return [field for field in every if sensitive or not field.sensitive]
