"""What a column of a contacts spreadsheet can fill, and the mapping guessed from header names in
English and Chinese (a custom field is found by its label)."""

import re
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from crm.custom_fields.service import FieldDef

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

SYNONYMS = {
    "name": ("name", "full name", "contact", "contact name", "customer", "customer name", "client", "client name",
             "姓名", "名字", "客户", "客户名称", "客户姓名", "联系人", "联系人姓名"),
    "first_name": ("first name", "firstname", "given name", "forename", "名"),
    "last_name": ("last name", "lastname", "surname", "family name", "姓"),
    "email": ("email", "e-mail", "email address", "e-mail address", "mail", "work email", "personal email",
              "邮箱", "电子邮件", "电子邮箱", "邮件", "邮箱地址", "email地址"),
    "phone": ("phone", "telephone", "tel", "mobile", "cell", "phone number", "mobile phone", "mobile number",
              "work phone", "home phone", "电话", "手机", "手机号", "手机号码", "电话号码", "联系电话", "座机",
              "联系方式"),
    "company": ("company", "company name", "organisation", "organization", "account", "account name", "business",
                "公司", "公司名称", "单位", "企业", "企业名称", "所属公司"),
    "title": ("title", "job title", "position", "job", "role", "职位", "职务", "头衔", "岗位"),
    "gender": ("gender", "sex", "性别"),
    "birthday": ("birthday", "date of birth", "dob", "birth date", "birthdate", "生日", "出生日期"),
    "source": ("source", "channel", "lead source", "来源", "渠道", "客户来源"),
    "owner": ("owner", "account owner", "contact owner", "sales rep", "salesperson", "assigned to",
              "负责人", "销售", "归属人", "所有者", "跟进人"),
    "tags": ("tags", "tag", "labels", "label", "标签"),
    "about": ("about", "notes", "note", "comments", "comment", "description", "备注", "说明", "描述"),
    "street": ("street", "address", "street address", "address line 1", "地址", "街道", "详细地址"),
    "city": ("city", "town", "城市", "市"),
    "region": ("region", "state", "province", "county", "省", "省份", "地区", "州"),
    "postal_code": ("postal code", "postcode", "zip", "zip code", "邮编", "邮政编码"),
    "country": ("country", "country code", "国家", "国家代码"),
    "external_id": ("id", "external id", "customer id", "customer number", "client id", "record id",
                    "编号", "客户编号", "客户id"),
}  # fmt: skip
# The error column of a file we produced: a fixed file comes back with it.
IGNORED = {"error", "errors", "错误"}


def _plain(header: str) -> str:
    return re.sub(r"[\s_\-.:：*]+", " ", header.lower()).strip()


_BY_SYNONYM = {_plain(word): key for key, words in SYNONYMS.items() for word in words}


def targets_for(custom_fields: list[FieldDef]) -> list[Target]:
    return [*TARGETS, *(Target(CUSTOM_PREFIX + field.key, field.label) for field in custom_fields)]


def guess(headers: list[str], custom_fields: list[FieldDef]) -> list[str]:
    """A target key (or "") per column; a target that takes one column goes to the first match."""
    by_label = {_plain(field.label): CUSTOM_PREFIX + field.key for field in custom_fields}
    several = {target.key for target in TARGETS if target.several}
    taken, mapping = set(), []
    for header in headers:
        plain = _plain(header)
        key = "" if plain in IGNORED else by_label.get(plain) or _BY_SYNONYM.get(plain, "")
        if key and key in taken and key not in several:
            key = ""
        taken.add(key)
        mapping.append(key)
    return mapping
