"""The native reader's fixes (issue 13), pinned: rendered with the demo customers' data.

Each line is what a customer sees, word for word; docs/language-review.md says why.
"""

from __future__ import annotations

import datetime as dt

import pytest

from bot.billing.accounts import Card
from bot.ops.demo import DEMO_CUSTOMERS, DemoCard
from bot.rasa_plugins.resilience import response_text
from bot.web.card_channel import messages, render_form, render_saved
from tests.test_wording import ZONES, demo_values, render
from tests.texts import widget_texts

CUSTOMERS = {c.id: c for c in DEMO_CUSTOMERS}


def said(
    response: str,
    language: str,
    customer: str,
    card: int = 0,
    zone: str | None = "customer's",
    cards_of: str | None = None,
) -> str:
    """The response as the customer reads it: their amounts, card and time zone."""
    demo = CUSTOMERS[customer]
    chosen: DemoCard = CUSTOMERS[cards_of or customer].cards[card]
    zone = ZONES[language] if zone == "customer's" else zone
    return render(response_text(response, language), demo_values(demo, chosen, language, zone))


PINNED = [
    # Chinese: brand names against Chinese with no space, Latin ones set off by one.
    ("utter_card_added", "zh", "cust-zh-nonowner", 1, None,
     "谢谢，您尾号为 0005 的新银联卡已保存。"),
    ("utter_card_added", "zh", "cust-zh-nonowner", 0, None,
     "谢谢，您尾号为 1111 的新 Visa 卡已保存。"),
    ("utter_decline_reason_insufficient_funds", "zh", "cust-zh-nonowner", 0, None,
     "银行拒绝了您尾号为 1111 的 Visa 卡的扣款，原因是余额不足。"),
    ("utter_decline_reason_expired_card", "zh", "cust-en-owner", 0, None,
     "您尾号为 8431 的美国运通卡扣款被拒，原因是这张卡已过期（有效期至 01/2026）。"),
    ("utter_confirm_card_save", "zh", "cust-lv-owner", 1, None,
     "现在用尾号为 5454 的万事达卡（有效期至 08/2029）支付 €25.50 吗？"),
    # Chinese: paid once, not twice; "已成功超过 48 小时" said properly.
    ("utter_still_past_due_recent", "zh", "cust-zh-nonowner", 1, "customer's",
     "您已成功支付 ¥1,080.00，付款时间为 12月2日 23:10（北京时间）。逾期提醒最晚可能会显示到 "
     "12月4日 23:10（北京时间）；如果届时仍未消失，请联系客服。"),
    ("utter_still_past_due_after_48h", "zh", "cust-zh-nonowner", 1, "customer's",
     "您已成功支付 ¥1,080.00，付款时间为 12月2日 23:10（北京时间），距今已超过 48 小时，"
     "逾期提醒本应已经消失。这需要客服核查，我可以请人工客服加入本次对话。"),
    ("utter_notice_may_stay", "zh", "cust-zh-nonowner", 1, "customer's",
     "逾期提醒最多可能还会显示 48 小时。如果超过以下时间后仍然显示，请联系客服："
     "12月4日 23:10（北京时间）。"),
    # Latvian: no gender for the customer; words that read as written in Latvian.
    ("utter_settle_options_owner", "lv", "cust-lv-owner", 0, None,
     "Tā kā karte pieder jums, varat mainīt tās derīguma termiņu, izvēlēties citu karti vai "
     "pievienot jaunu. Ko vēlaties darīt?"),
    ("utter_settle_options_nonowner", "lv", "cust-zh-nonowner", 0, None,
     "Šī karte jums nepieder, tāpēc tās derīguma termiņu mainīt nevarat, bet varat izvēlēties "
     "citu karti vai pievienot jaunu. Ko vēlaties darīt?"),
    ("utter_not_owner_cannot_change_expiry", "lv", "cust-zh-nonowner", 0, None,
     "Derīguma termiņu var mainīt tikai tas, kam karte pieder, bet Visa karte, kuras numurs "
     "beidzas ar 1111, jums nepieder. Tā vietā varat izvēlēties citu karti vai pievienot jaunu."),
    ("utter_confirmation_outdated", "lv", "cust-lv-owner", 0, None,
     "Tas, ko apstiprinājāt, vairs neatbilst šim kontam (piemēram, tagad tiek izmantots cits konts "
     "vai ir mainījusies nokavētā maksājuma summa), tāpēc nekas netika mainīts un nauda netika "
     "iekasēta. Šī konta stāvoklis tagad ir šāds:"),
    ("utter_payment_declined_again", "lv", "cust-lv-owner", 0, None,
     "Šis maksājums neizdevās, un nauda netika iekasēta. Nokavētais maksājums 25,50\u00a0€ apmērā "
     "joprojām nav samaksāts."),
    ("utter_technical_problem", "lv", "cust-lv-owner", 0, None,
     "Atvainojiet, mūsu pusē radās kļūme, un pēdējo darbību neizdevās pabeigt. Lūdzu, pēc brīža "
     "nosūtiet savu ziņu vēlreiz. Ja tobrīd notika maksājums, nauda netiks iekasēta divreiz."),
    ("utter_handoff_closed", "lv", "cust-lv-owner", 0, None,
     "Atbalsta speciālists ir pabeidzis šo sarunu. Ja vēl kas nepieciešams, rakstiet šeit – "
     "palīdzēs norēķinu palīgs."),
    ("utter_notice_may_stay", "lv", "cust-lv-owner", 1, "customer's",
     "Paziņojums par nokavēto maksājumu var būt redzams vēl līdz 48 stundām. Ja tas joprojām būs "
     "redzams, lūdzu, sazinieties ar atbalsta dienestu pēc šī laika: 4. decembris 17:10 "
     "(Rīgas laiks)."),
    ("utter_notice_may_stay", "lv", "cust-lv-owner", 1, None,
     "Paziņojums par nokavēto maksājumu var būt redzams vēl līdz 48 stundām. Ja tas joprojām būs "
     "redzams, lūdzu, sazinieties ar atbalsta dienestu pēc šī laika: 4. decembris 15:10 (UTC)."),
    # English: the customer's own clock too.
    ("utter_notice_may_stay", "en", "cust-en-owner", 0, "customer's",
     "The past-due notice may stay visible for up to 48 hours. If you still see it after "
     "December 4, 10:10\u202fAM (New York time), please contact support."),
]  # fmt: skip


@pytest.mark.parametrize("response, language, customer, card, zone, expected", PINNED)
def test_what_the_customer_reads(response, language, customer, card, zone, expected) -> None:
    assert said(response, language, customer, card, zone) == expected


def test_the_card_form_link_comes_right_after_the_words_that_ask_for_it() -> None:
    text = said("utter_card_form_link", "zh", "cust-zh-nonowner")
    assert text.startswith("请在下面的安全表单中添加新卡：http")
    assert text.index("http") < text.index("请勿在对话中输入卡号")


def test_latvian_quotes_are_latvian() -> None:
    procedure = response_text("utter_settle_procedure", "lv")
    assert "„Abonementam ir nokavēts maksājums”" in procedure and "„Saglabāt”" in procedure
    assert "„2027. gada decembris”" in response_text("utter_expiry_not_a_date", "lv")


def test_latvian_no_longer_says_what_a_customer_cannot_care_about() -> None:
    assert "rind" not in response_text("utter_contact_support", "lv")  # the queue
    access = response_text("utter_no_account_access", "lv")
    assert "pierakstījušies" not in access and "paši" not in access


def test_one_word_for_the_chat_in_the_widget_and_the_bot() -> None:
    widget = widget_texts()
    assert widget["lv"]["privacy"] == (
        "Nekad nerakstiet kartes numuru sarunā – mēs jums nosūtīsim drošu veidlapu."
    )
    assert widget["zh"]["privacy"] == "请勿在对话中输入卡号，我们会向您发送安全表单。"
    assert "sarunā" in response_text("utter_card_number_redacted", "lv")


def test_the_card_form_speaks_like_the_chat() -> None:
    unionpay = Card(1, "UnionPay", "0005", 11, 2028, True)
    saved = render_saved("zh", unionpay).body.decode()
    assert "尾号为 0005 的银联卡已保存。请返回对话完成付款。" in saved
    amex = Card(2, "American Express", "8431", 1, 2030, True)
    assert "尾号为 8431 的美国运通卡已保存" in render_saved("zh", amex).body.decode()
    page = render_form("zh", {"number": "number_unsupported_brand", "cvc": "cvc_invalid"}).body
    page_text = page.decode()
    assert "Visa、万事达、美国运通、银联或 Discover 卡" in page_text
    assert "美国运通卡为卡正面的 4 位数字" in page_text and "American Express" not in page_text
    assert "请按提示修改标出的内容。" in page_text and "字段" not in page_text
    assert messages()["zh"]["expiry"] == "有效期（MM/YY）"


def test_times_in_the_year_after_show_the_year() -> None:
    from bot.i18n import format_moment

    new_year = dt.datetime(2027, 1, 1, 9, 0, tzinfo=dt.timezone.utc)
    december = dt.datetime(2026, 12, 31, 12, 0, tzinfo=dt.timezone.utc)
    assert format_moment(new_year, "lv", "Europe/Riga", december) == (
        "2027. gada 1. janvāris 11:00 (Rīgas laiks)"
    )
    assert format_moment(new_year, "zh", "Asia/Shanghai", december) == (
        "2027年1月1日 17:00（北京时间）"
    )
