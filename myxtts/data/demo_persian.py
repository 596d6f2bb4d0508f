"""The Persian sentence grammar of the demo dataset (written for this project).

Sentences are built from templates and word lists, like the English grammar in
:mod:`myxtts.data.demo_sentences`, and exercise the Persian normaliser on purpose: digits
(Persian and Latin), digit ordinals ("۳ام", "۲۱مین"), percentages, ZWNJ in compounds and
the verb prefix "می" (sometimes written with a space, which normalisation joins).
All subjects are third person singular, so every verb form below agrees with them.
"""

from __future__ import annotations

import random
from typing import Callable, Sequence

__all__ = ["PersianGrammar"]

ZWNJ = "\u200c"

_NAMES = ("علی", "مریم", "سارا", "رضا", "نیلوفر", "کاوه", "پریسا", "بهرام", "شیرین", "آرش",
          "لیلا", "داریوش", "مهسا", "کامران", "یاسمن", "فرهاد", "نسرین", "بابک", "ژاله",
          "سهراب", "ترانه", "پویا", "گلاره", "هومن")
_PEOPLE = ("کشاورز", "خواهرم", "همسایه‌ی ما", "خلبان جوان", "عمویم", "دانشجوی خسته",
           "ملوان پیر", "نانوا", "دخترخاله‌اش", "نگهبان شب", "معلم تازه", "مادربزرگش", "نقاش",
           "راننده‌ی اتوبوس", "کتابدار کم‌حرف", "پرستار", "راهنمای ما", "ماهیگیر",
           "دوست صمیمی‌ام", "شهردار", "پسر کوچک", "غریبه‌ی قدبلند")
_NOUNS = ("کتری", "چراغ", "سبد", "نامه", "دوچرخه", "چتر", "نقشه", "ویولن", "پتو", "کلید",
          "جعبه", "شمع", "کتاب", "نردبان", "بطری", "ساعت", "کاپشن", "پرتقال", "سنگ", "بلیت",
          "پنجره", "تابلو", "فنجان", "طناب", "صدف", "دفترچه", "آینه", "چکش", "سیب", "رادیو",
          "صندلی", "گلدان")
_ADJECTIVES = ("قرمز", "سنگین", "شکسته", "براق", "چوبی", "کوچک", "بزرگ", "عجیب", "طلایی",
               "خاکی", "شکننده", "گرم", "روشن", "باریک", "قدیمی", "نرم", "خالی", "رنگارنگ",
               "گرد", "تیز", "سبز", "نقره‌ای", "آبی", "تازه")
# (past tense, imperative) of verbs that take an object.
_TRANSITIVE = (("پیدا کرد", "پیدا کن"), ("برد", "ببر"), ("رنگ کرد", "رنگ کن"),
               ("تعمیر کرد", "تعمیر کن"), ("فروخت", "بفروش"), ("پنهان کرد", "پنهان کن"),
               ("تمیز کرد", "تمیز کن"), ("باز کرد", "باز کن"), ("قرض گرفت", "قرض بگیر"),
               ("بست", "ببند"), ("آورد", "بیاور"), ("گم کرد", "گم نکن"),
               ("جابه‌جا کرد", "جابه‌جا کن"), ("ساخت", "بساز"), ("خرید", "بخر"),
               ("شمرد", "بشمار"), ("بلند کرد", "بلند کن"), ("برگرداند", "برگردان"),
               ("اندازه گرفت", "اندازه بگیر"), ("شست", "بشوی"), ("بسته‌بندی کرد", "بسته‌بندی کن"))
# (past tense, present tense with the prefix "می") of verbs without an object.
_INTRANSITIVE = (("منتظر ماند", "منتظر می‌ماند"), ("خوابید", "می‌خوابد"),
                 ("آواز خواند", "آواز می‌خواند"), ("دوید", "می‌دود"), ("خندید", "می‌خندد"),
                 ("رقصید", "می‌رقصد"), ("کار کرد", "کار می‌کند"), ("نشست", "می‌نشیند"),
                 ("استراحت کرد", "استراحت می‌کند"), ("قدم زد", "قدم می‌زند"),
                 ("شنا کرد", "شنا می‌کند"), ("نقاشی کشید", "نقاشی می‌کشد"))
_PLACES = ("در باغ", "کنار پل قدیمی", "در ایستگاه", "پشت کتابخانه", "روی پشت‌بام", "زیر میز",
           "کنار رودخانه", "در آشپزخانه", "در بازار", "داخل موزه", "روی تپه", "کنار نانوایی",
           "در روستایی کوچک", "در بندر", "آن طرف خیابان", "در زیرزمین", "کنار فواره",
           "در قطار", "در جنگل", "در فرودگاه")
_TIMES = ("دیروز", "امروز صبح", "زمستان گذشته", "بعد از شام", "روز دوشنبه",
          "پیش از طلوع آفتاب", "دیروقت شب", "جمعه‌ی گذشته", "هفته‌ی پیش", "در بهار",
          "وسط طوفان", "بعد از کنسرت", "عصر پنجشنبه", "سر ظهر")
_DEADLINES = ("ظهر", "رسیدن مهمان‌ها", "تاریک شدن هوا", "جمعه", "حرکت قطار", "ناهار",
              "بسته شدن مغازه", "فردا صبح")
_FEELINGS = ("خوشحال", "خسته", "شگفت‌زده", "عصبانی", "نگران", "مغرور", "گیج", "آرام",
             "سپاسگزار", "کنجکاو")
_EXCLAMATIONS = ("وای", "آفرین", "مراقب باش", "چه خوب", "صبر کن", "گوش کن", "باورم نمی‌شود")
_NUMBER_WORDS = ("دو", "سه", "چهار", "پنج", "شش", "هفت", "هشت", "ده", "دوازده")
_FA_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


def _ezafe(noun: str) -> str:
    """The noun as written before an adjective: a final silent "ه" takes "‌ی"."""
    return noun + ZWNJ + "ی" if noun.endswith("ه") else noun


class PersianGrammar:
    """Random Persian sentences from templates; all randomness comes from ``rng``."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.templates: tuple[Callable[[], str], ...] = (
            self._simple, self._time_first, self._intransitive, self._yes_no, self._where,
            self._why, self._bought, self._clock, self._year, self._said_that, self._please,
            self._two_counts, self._still_there, self._exclamation, self._if_then,
            self._semicolon, self._note_colon, self._percent, self._ordinal_floor,
            self._ever_seen, self._but, self._how_many, self._habit, self._nth_time)

    def sentence(self) -> str:
        return self.rng.choice(self.templates)()

    # -- phrase pickers
    def _c(self, options: Sequence[str]) -> str:
        return self.rng.choice(options)

    def subject(self) -> str:
        return self._c(_NAMES) if self.rng.random() < 0.45 else self._c(_PEOPLE)

    def thing(self) -> str:
        """A definite object phrase (followed by "را" in the templates)."""
        noun = self._c(_NOUNS)
        return f"{_ezafe(noun)} {self._c(_ADJECTIVES)}" if self.rng.random() < 0.6 else noun

    def a_thing(self) -> str:
        return f"یک {_ezafe(self._c(_NOUNS))} {self._c(_ADJECTIVES)}"

    def number(self, low: int, high: int) -> str:
        """A number as digits, Persian or Latin (the normaliser reads both)."""
        digits = str(self.rng.randint(low, high))
        return digits.translate(_FA_DIGITS) if self.rng.random() < 0.7 else digits

    def count(self) -> str:
        return self._c(_NUMBER_WORDS) if self.rng.random() < 0.5 else self.number(2, 99)

    def verb(self) -> tuple[str, str]:
        return self._c(_TRANSITIVE)

    def present(self) -> str:
        """A present-tense verb; sometimes "می" is written apart, as people often type it."""
        verb = self._c(_INTRANSITIVE)[1]
        return verb.replace("می" + ZWNJ, "می ") if self.rng.random() < 0.3 else verb

    # -- templates
    def _simple(self) -> str:
        return (f"{self.subject()} {self._c(_TIMES)} {self.thing()} را {self._c(_PLACES)} "
                f"{self.verb()[0]}.")

    def _time_first(self) -> str:
        return f"{self._c(_TIMES)}، {self.subject()} {self.a_thing()} {self.verb()[0]}."

    def _intransitive(self) -> str:
        return (f"{self.subject()} {self._c(_TIMES)} {self._c(_PLACES)} "
                f"{self._c(_INTRANSITIVE)[0]}.")

    def _yes_no(self) -> str:
        return f"آیا {self.subject()} {self.thing()} را {self._c(_PLACES)} {self.verb()[0]}؟"

    def _where(self) -> str:
        return f"{self.subject()} {self.thing()} را کجا {self.verb()[0]}؟"

    def _why(self) -> str:
        return f"چرا {self._c(_NOUNS)} {self._c(_TIMES)} این‌قدر {self._c(_ADJECTIVES)} بود؟"

    def _bought(self) -> str:
        return (f"{self.subject()} {self.count()} {self._c(_NOUNS)} به قیمت "
                f"{self.number(2, 900)} هزار تومان خرید.")

    def _clock(self) -> str:
        return (f"ساعت {self.number(1, 12)} و {self.number(5, 55)} دقیقه، {self.subject()} "
                f"{self._c(_PLACES)} {self._c(_INTRANSITIVE)[0]}.")

    def _year(self) -> str:
        return f"در سال {self.number(1300, 1403)}، {self.subject()} {self.a_thing()} ساخت."

    def _said_that(self) -> str:
        return f"{self.subject()} گفت که {self.subject()} {self.thing()} را {self.verb()[0]}."

    def _please(self) -> str:
        return f"لطفاً {self.thing()} را پیش از {self._c(_DEADLINES)} {self.verb()[1]}."

    def _two_counts(self) -> str:
        return (f"{self.subject()} {self.count()} {self._c(_NOUNS)} و {self.count()} "
                f"{self._c(_NOUNS)} {self.verb()[0]}.")

    def _still_there(self) -> str:
        return f"آیا {self.thing()} هنوز {self._c(_PLACES)} است؟"

    def _exclamation(self) -> str:
        return f"{self._c(_EXCLAMATIONS)}! {self.subject()} {self.thing()} را {self.verb()[0]}."

    def _if_then(self) -> str:
        return (f"وقتی {self.subject()} {self.thing()} را {self.verb()[0]}، {self.subject()} "
                f"{self._c(_FEELINGS)} شد.")

    def _semicolon(self) -> str:
        return f"{self.subject()} {self._c(_FEELINGS)} بود؛ ولی {self.subject()} نبود."

    def _note_colon(self) -> str:
        return f"توجه: {self.subject()} {self._c(_PLACES)} {self._c(_INTRANSITIVE)[0]}."

    def _percent(self) -> str:
        return (f"حدود {self.number(5, 95)}٪ از {self._c(_NOUNS)}{ZWNJ}ها "
                f"{self._c(_ADJECTIVES)} بودند.")

    def _ordinal_floor(self) -> str:
        return (f"{self._c(_NOUNS)}{ZWNJ}های طبقه‌ی {self.number(1, 23)}ام "
                f"{self._c(_ADJECTIVES)} بودند.")

    def _ever_seen(self) -> str:
        return f"تا حالا {self.a_thing()} {self._c(_PLACES)} دیده‌ای؟"

    def _but(self) -> str:
        return (f"{self.subject()} {self.thing()} را {self.verb()[0]}، ولی {self.subject()} "
                f"{self.a_thing()} {self.verb()[0]}.")

    def _how_many(self) -> str:
        return f"{self.subject()} {self._c(_TIMES)} چند {self._c(_NOUNS)} {self.verb()[0]}؟"

    def _habit(self) -> str:
        return f"{self.subject()} هر روز {self._c(_PLACES)} {self.present()}."

    def _nth_time(self) -> str:
        return (f"این {self.number(2, 30)}مین باری بود که {self.subject()} "
                f"{self._c(_PLACES)} {self._c(_INTRANSITIVE)[0]}.")
