from __future__ import annotations

import json
import re
import statistics
import time
import tomllib
from pathlib import Path

import pytest

from crawler import errors
from crawler.analysis.topic import DEFAULT_PROFILE_PATH, TopicProfile, TopicProfileError
from crawler.errors import SilkroadError

EVAL_DIR = Path(__file__).parent / "topic_eval"
# Written from the brief alone, before the vocabulary was read: the closest we
# have to the hidden set the filter is judged on.
BLIND_DIR = Path(__file__).parent / "topic_eval_blind"
# Written blind by a third person, without reading the profile or the other sets.
BLIND2_DIR = Path(__file__).parent / "topic_eval_blind2"
THEMES = {"trade", "transport", "energy", "security", "diplomacy", "investment",
          "agriculture", "technology", "culture", "migration"}
CORE = {"CN", "KZ", "KG", "TJ", "TM", "UZ"}


@pytest.fixture(scope="module")
def profile() -> TopicProfile:
    return TopicProfile.load()


ON_TOPIC = [
    # (title, text, countries)
    ("China and Kazakhstan open a second rail crossing",
     "A second railway crossing between China and Kazakhstan opened at Altynkol. "
     "Kazakh officials expect freight volumes to grow by a third. "
     "Chinese exporters welcomed the faster customs checks.",
     ("CN", "KZ")),
    ("Sino-Uzbek textile park opens near Tashkent",
     "A textile park built by a Chinese company opened outside Tashkent. "
     "Uzbekistan hopes it will add 4,000 jobs. The investors come from Zhejiang province.",
     ("CN", "UZ")),
    ("Beijing lends Dushanbe $300 million for roads",
     "China's Exim Bank will lend Tajikistan $300 million to rebuild mountain roads. "
     "The Tajik finance ministry said repayment starts after ten years.",
     ("CN", "TJ")),
    ("Kyrgyz honey finds buyers in China",
     "Exports of Kyrgyz honey to China tripled this year. "
     "Beekeepers from Issyk-Kul said Chinese buyers pay well for mountain honey.",
     ("CN", "KG")),
    ("Turkmenistan and China discuss Line D",
     "Turkmen and Chinese officials met in Ashgabat to discuss the long-delayed Line D "
     "of the gas pipeline. Both countries want more gas to reach Chinese cities.",
     ("CN", "TM")),
    ("China–Central Asia summit ends with joint declaration",
     "Leaders of China and the Central Asian states adopted a declaration on trade and "
     "connectivity. Beijing promised new grants for the region's infrastructure.",
     ("CN",)),
    ("Qazaqstan and China sign grain protocol",
     "Qazaqstan Respublikasy and the People's Republic of China signed a protocol on grain "
     "exports. Kazakh barley can now be shipped to Chinese mills.",
     ("CN", "KZ")),
    ("Oʻzbekiston va Xitoy: new solar plant in Buxoro",
     "A Chinese company will build a solar plant in Buxoro region of O'zbekiston. "
     "The Uzbek energy ministry said China will supply the panels.",
     ("CN", "UZ")),
    ("中哈签署农产品贸易协定",
     "中国与哈萨克斯坦日前签署农产品贸易协定。哈方将扩大对华小麦和大麦出口。两国海关将简化检疫程序。",
     ("CN", "KZ")),
    ("中吉乌铁路项目正式开工",
     "中吉乌铁路项目在吉尔吉斯斯坦贾拉拉巴德州举行开工仪式。该铁路将连接中国新疆与乌兹别克斯坦费尔干纳盆地。",
     ("CN", "KG", "UZ")),
    ("塔吉克斯坦总统拉赫蒙会见王毅",
     "塔吉克斯坦总统拉赫蒙在杜尚别会见中国外长王毅。双方表示将深化安全和经贸合作。",
     ("CN", "TJ")),
    ("中國與土庫曼擴大天然氣合作",
     "土庫曼與中國簽署協議，將擴大對華天然氣出口。中國石油將參與阿什哈巴德附近氣田開發。",
     ("CN", "TM")),
    ("吉爾吉斯總統訪問北京",
     "吉爾吉斯總統札帕羅夫訪問北京，與習近平舉行會談。雙方同意擴大貿易與交通合作。",
     ("CN", "KG")),
    ("Китай и Казахстан откроют новый пункт пропуска",
     "Китай и Казахстан договорились открыть новый автомобильный пункт пропуска. "
     "Казахстанская сторона построит терминал, а китайская — подъездную дорогу.",
     ("CN", "KZ")),
    ("Узбекистан и КНР подписали соглашения на $5 млрд",
     "Президент Узбекистана провёл переговоры с председателем КНР в Пекине. "
     "Китайско-узбекские проекты охватят энергетику и сельское хозяйство.",
     ("CN", "UZ")),
    ("Киргизии выделят китайский кредит на дороги",
     "Китай предоставит Киргизии льготный кредит на ремонт дорог. "
     "В Бишкеке рассчитывают завершить работы за три года при участии китайских подрядчиков.",
     ("CN", "KG")),
    ("Таджикистан и Китай проведут совместные учения",
     "Военные Таджикистана и Китая проведут совместные антитеррористические учения. "
     "Таджикские и китайские подразделения отработают защиту границы.",
     ("CN", "TJ")),
]


@pytest.mark.parametrize("title,text,countries", ON_TOPIC, ids=[c[0][:30] for c in ON_TOPIC])
def test_keeps_china_central_asia_articles_and_tags_their_countries(
        profile: TopicProfile, title: str, text: str, countries: tuple[str, ...]) -> None:
    verdict = profile.score(title, text)
    assert verdict.keep, verdict
    assert verdict.score >= profile.threshold
    assert verdict.countries == countries


OFF_TOPIC = [
    # (kind, title, text)
    ("round-up", "Asian Games: China leads medal table",
     "China won nine more gold medals. Japan, South Korea, Kazakhstan and Iran followed. "
     "The swimming events end on Friday."),
    ("round-up", "Asian markets close mixed",
     "Shares in Tokyo fell while Shanghai stocks rose slightly. Indices in Seoul, Mumbai and "
     "Almaty were flat. The dollar was steady."),
    ("round-up", "World trade slows",
     "Exports from the United States, China, Germany, Kazakhstan and Brazil slowed last year. "
     "Economists blamed tariffs."),
    ("china-only", "China's factory output rises",
     "China's industrial output grew 6 percent in May. Beijing expects steady growth. "
     "Factories in Guangdong reported more orders."),
    ("china-only", "Xinjiang herders move to summer pastures",
     "Ethnic Kazakh herders in Xinjiang began moving their flocks to summer pastures. "
     "Local authorities set up veterinary stations along the route."),
    ("central-asia-only", "Kazakhstan raises its base rate",
     "Kazakhstan's central bank raised its base rate to 16 percent. "
     "Inflation in Astana and Almaty stays high."),
    ("central-asia-only", "Uzbekistan's trade grows",
     "Uzbekistan's foreign trade grew 12 percent. Its main partners were Russia, China and "
     "Kazakhstan. Exports of gold rose."),
    ("russia-central-asia", "Putin visits Bishkek",
     "Russian President Vladimir Putin held talks in Bishkek with Kyrgyz leader Sadyr Japarov. "
     "Russia will supply fuel to Kyrgyzstan at reduced prices."),
    ("world", "Floods hit central Europe",
     "Heavy rain caused floods in Austria and the Czech Republic. Thousands were evacuated."),
    ("false-friend", "Turkey and Turkmenistan sign gas swap",
     "Turkey will receive Turkmen gas through Iran under a swap deal. "
     "Ankara hopes to expand the volumes next year."),
    ("false-friend", "Almaty museum shows English bone china",
     "An Almaty museum opened an exhibition of English bone china and fine china tea sets."),
    ("round-up", "亚运会奖牌榜：中国继续领跑",
     "中国代表团再获九枚金牌。日本、韩国、哈萨克斯坦和伊朗分列其后。游泳比赛周五结束。"),
    ("china-only", "国家统计局：5月工业增加值增长6%",
     "国家统计局数据显示，5月份全国规模以上工业增加值同比增长百分之六。广东、江苏订单增加。"),
    ("central-asia-only", "哈萨克斯坦央行上调基准利率",
     "哈萨克斯坦央行将基准利率上调至百分之十六。阿斯塔纳和阿拉木图通胀水平较高。"),
    ("russia-central-asia", "普京访问比什凯克",
     "俄罗斯总统普京在比什凯克同吉尔吉斯斯坦总统扎帕罗夫会谈。俄方将以优惠价格向吉方供应燃料。"),
    ("round-up", "Азиатские игры: Китай лидирует",
     "Китай завоевал ещё девять золотых медалей. Следом идут Япония, Южная Корея, Казахстан и "
     "Иран. Соревнования по плаванию завершатся в пятницу."),
    ("china-only", "Промышленность Китая ускорила рост",
     "Промышленное производство в Китае в мае выросло на 6 процентов. Пекин ожидает "
     "устойчивого роста."),
    ("central-asia-only", "Нацбанк Казахстана повысил базовую ставку",
     "Национальный банк Казахстана повысил базовую ставку до 16 процентов. "
     "Инфляция в Астане и Алматы остаётся высокой."),
    ("russia-central-asia", "Путин провёл переговоры в Бишкеке",
     "Президент России Владимир Путин провёл в Бишкеке переговоры с Садыром Жапаровым. "
     "Россия поставит Киргизии топливо по льготным ценам."),
]


@pytest.mark.parametrize("kind,title,text", OFF_TOPIC,
                         ids=[f"{c[0]}:{c[1][:24]}" for c in OFF_TOPIC])
def test_turns_away_hard_negatives(profile: TopicProfile, kind: str, title: str,
                                   text: str) -> None:
    verdict = profile.score(title, text)
    assert not verdict.keep, (kind, verdict)


SPAM_COPIES = [
    ("China and Kazakhstan open a second rail crossing | Online casino",
     "A second railway crossing between China and Kazakhstan opened at Altynkol. "
     "Claim 100 free spins at the best online casino. Kazakh officials expect freight volumes "
     "to grow. Sports betting with the best odds."),
    ("中哈签署农产品贸易协定",
     "中国与哈萨克斯坦日前签署农产品贸易协定。ag庄闲集团\n哈方将扩大对华小麦和大麦出口。"),
    ("中哈签署农产品贸易协定-开云体育(中国)官方网站",
     "中国与哈萨克斯坦日前签署农产品贸易协定。百家乐、真人视讯，注册送彩金。哈方将扩大对华小麦出口。"),
    ("Китай и Казахстан откроют новый пункт пропуска",
     "Китай и Казахстан договорились открыть новый пункт пропуска. Ставки на спорт и "
     "онлайн-казино с бездепозитным бонусом. Казахстанская сторона построит терминал."),
]


@pytest.mark.parametrize("title,text", SPAM_COPIES, ids=range(len(SPAM_COPIES)))
def test_drops_gambling_spam_copies_of_on_topic_articles(
        profile: TopicProfile, title: str, text: str) -> None:
    verdict = profile.score(title, text)
    assert not verdict.keep
    assert verdict.score < 0.2


def test_a_single_honest_mention_of_a_casino_does_not_drop_an_article(
        profile: TopicProfile) -> None:
    verdict = profile.score(
        "Chinese investors plan resort in Kazakhstan",
        "Chinese investors will build a resort near Kapchagay in Kazakhstan, where a casino "
        "zone already operates. The Kazakh government welcomed the Chinese project, which "
        "includes hotels and a water park.")
    assert verdict.keep
    assert verdict.countries == ("CN", "KZ")


@pytest.mark.parametrize("title,text,countries", [
    # A country named once, only as an item of a list, is not tagged.
    ("China and Kazakhstan agree on new border crossing",
     "China and Kazakhstan agreed to open a new border crossing near Khorgos. "
     "Trucks from Russia, Kyrgyzstan and Turkey also use the road. "
     "Kazakh officials expect queues to shrink.", ("CN", "KZ")),
    # Central Asia as a region, no country named: China only.
    ("China courts Central Asia with new loans",
     "China offered new loans to Central Asian states for roads and power lines. "
     "Beijing says the money will deepen cooperation with the region.", ("CN",)),
    # All five named together: all tagged.
    ("Foreign ministers of China and Central Asia meet",
     "Ministers of China, Kazakhstan, Kyrgyzstan, Tajikistan, Turkmenistan and Uzbekistan "
     "met to prepare the next China–Central Asia summit.",
     ("CN", "KG", "KZ", "TJ", "TM", "UZ")),
    # A project name tags the countries it links.
    ("China–Kyrgyzstan–Uzbekistan railway gets new funding",
     "Chinese banks agreed to finance the next section of the line through the mountains.",
     ("CN", "KG", "UZ")),
    # Third countries are tagged only when discussed at length.
    ("Russia and China compete for influence in Kazakhstan",
     "Russia and China both court Kazakhstan. Russia remains the main security partner, "
     "while China leads in trade. Kazakh officials want good ties with Russia and China. "
     "Russia still hosts many Kazakh students.", ("CN", "KZ", "RU")),
])
def test_country_tags_are_the_countries_the_article_concerns(
        profile: TopicProfile, title: str, text: str, countries: tuple[str, ...]) -> None:
    verdict = profile.score(title, text)
    assert verdict.keep
    assert verdict.countries == countries


@pytest.mark.parametrize("text,code", [
    ("Казахстана", "KZ"), ("Казахстаном", "KZ"), ("казахстанско-китайский", "KZ"),
    ("Китаю", "CN"), ("Китаем", "CN"), ("КНР", "CN"), ("Поднебесной", "CN"),
    ("Узбекистане", "UZ"), ("Киргизии", "KG"), ("Кыргызстаном", "KG"), ("Таджикистана", "TJ"),
    ("Туркменистаном", "TM"), ("Бишкеке", "KG"), ("Ташкенте", "UZ"), ("Мирзиёевым", "UZ"),
    ("Kazakhstani", "KZ"), ("Kirghizia", "KG"), ("Qırğızstan", "KG"), ("Tojikiston", "TJ"),
    ("Türkmenistan", "TM"), ("Oʻzbekiston", "UZ"), ("O’zbekiston", "UZ"), ("Qazaqstan", "KZ"),
    ("Nur-Sultan", "KZ"), ("Xi’an", "CN"), ("Ürümqi", "CN"), ("Sino", "CN"),
    ("吉爾吉斯", "KG"), ("哈薩克", "KZ"), ("烏茲別克", "UZ"), ("土庫曼", "TM"), ("習近平", "CN"),
    ("比斯凱克", "KG"), ("托卡耶夫", "KZ"), ("Токаев", "KZ"), ("Tokayev", "KZ"),
])
def test_recognises_names_in_every_script_and_form(profile: TopicProfile, text: str,
                                                   code: str) -> None:
    reading = profile._read(profile._normalise(f"News: {text} today."))
    assert code in reading.mentions


@pytest.mark.parametrize("text", [
    "Turkey", "Turkish", "Oshkosh", "Xiamen-born Xiaoyu", "XI", "taxing", "fine china",
    "ethnic Kazakhs", "哈萨克族牧民", "其中亚洲国家", "在经济上合作", "Ошеломляющий успех",
])
def test_false_friends_do_not_count_as_central_asia(profile: TopicProfile, text: str) -> None:
    reading = profile._read(profile._normalise(text))
    assert not any(code in reading.mentions for code in ("KZ", "KG", "TJ", "TM", "UZ"))
    assert not reading.region


@pytest.mark.parametrize("text", [
    "a loan of 2.3 billion U.S. dollars", "about 40 billion US dollars",
    "кредит на 300 млн долл. США", "инвестиции на 2 млрд долларов США",
])
def test_an_amount_in_dollars_does_not_name_the_united_states(profile: TopicProfile,
                                                               text: str) -> None:
    assert "US" not in profile._read(profile._normalise(text)).mentions


def test_short_tokens_are_case_sensitive(profile: TopicProfile) -> None:
    assert "CN" in profile._read("President Xi arrived.").mentions
    assert "CN" not in profile._read("Part xi of the report.").mentions
    assert profile.signals("The SCO summit").joint > 0
    assert profile.signals("the sco of it").joint == 0


def test_threshold_can_be_overridden_at_load() -> None:
    default = TopicProfile.load()
    strict = TopicProfile.load(threshold=0.99)
    lenient = TopicProfile.load(threshold=0.01)
    title, text, _ = ON_TOPIC[0]
    assert strict.threshold == 0.99
    assert default.score(title, text).score == strict.score(title, text).score
    assert default.score(title, text).keep and not strict.score(title, text).keep
    # Both sides must be present whatever the threshold.
    assert not lenient.score("China's factory output rises",
                             "China's output grew in May.").keep


def test_verdict_carries_the_profile_version(tmp_path: Path) -> None:
    declared = tomllib.loads(DEFAULT_PROFILE_PATH.read_text(encoding="utf-8"))["version"]
    assert TopicProfile.load().score("a", "b").profile_version == declared
    copy = tmp_path / "profile.toml"
    copy.write_text(re.sub(r'(?m)^version = ".*"$', 'version = "test-7"',
                           DEFAULT_PROFILE_PATH.read_text(encoding="utf-8")), encoding="utf-8")
    custom = TopicProfile.load(copy)
    assert custom.version == "test-7"
    assert custom.score(*ON_TOPIC[0][:2]).profile_version == "test-7"


@pytest.mark.parametrize("content", ["version = ", "version = '1'\nthreshold = 0.5\n"])
def test_broken_profiles_raise_a_profile_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(TopicProfileError):
        TopicProfile.load(path)


def test_missing_profile_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(SilkroadError):
        TopicProfile.load(tmp_path / "nope.toml")


def test_themes_are_known_keys_and_follow_the_text(profile: TopicProfile) -> None:
    verdict = profile.score(
        "China and Kazakhstan expand gas pipeline",
        "China and Kazakhstan agreed to expand the gas pipeline and build a new power plant. "
        "The energy ministries said gas exports would rise. Oil deliveries will also grow.")
    assert "energy" in verdict.themes
    assert set(verdict.themes) <= THEMES
    assert list(verdict.themes) == sorted(verdict.themes)


def test_empty_text_scores_zero(profile: TopicProfile) -> None:
    verdict = profile.score("", "")
    assert verdict == verdict.__class__(0.0, False, (), (), profile.version)


def test_scoring_a_3kb_article_is_fast(profile: TopicProfile) -> None:
    text = " ".join(
        f"Paragraph {i}: Kazakh and Chinese officials discussed freight, wheat and investment "
        f"in Astana, while markets in Tokyo and London were calm." for i in range(30))[:3000]
    profile.score("warm-up", text)
    timings = []
    for _ in range(20):
        started = time.process_time()  # CPU time: other processes' load does not count
        profile.score("China and Kazakhstan", text)
        timings.append(time.process_time() - started)
    # The budget is 5 ms; the margin absorbs a slow CI machine.
    assert statistics.median(timings) < 0.015


def test_traditional_chinese_table_covers_the_vocabulary(profile: TopicProfile) -> None:
    opencc = pytest.importorskip("opencc")
    data = tomllib.loads(DEFAULT_PROFILE_PATH.read_text(encoding="utf-8"))
    terms: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            terms.extend(t for t in node if isinstance(t, str) and re.search("[\u4e00-\u9fff]", t))
    walk(data)
    converters = [opencc.OpenCC(c) for c in ("s2t", "s2tw", "s2hk")]
    missing = set()
    for term in terms:
        term = term.removeprefix("re:")
        for converter in converters:
            traditional = converter.convert(term)
            if len(traditional) == len(term) and profile._normalise(traditional) != \
                    profile._normalise(term):
                missing.update(f"{t}{s}" for t, s in zip(traditional, term, strict=True) if t != s)
    assert not missing, f"add to [normalise] zh_traditional: {' '.join(sorted(missing))}"


def _eval_cases(folder: Path = EVAL_DIR) -> list[dict]:
    rows = []
    for path in sorted(folder.glob("*.jsonl")):
        rows += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
                 if line.strip()]
    return rows


@pytest.mark.parametrize("folder,size", [(EVAL_DIR, 150), (BLIND_DIR, 120), (BLIND2_DIR, 75)],
                         ids=["ours", "blind", "blind2"])
def test_evaluation_set_is_balanced_and_well_formed(folder: Path, size: int) -> None:
    rows = _eval_cases(folder)
    assert len(rows) >= size
    assert len({r["id"] for r in rows}) == len(rows)
    for lang in ("en", "zh", "ru"):
        mine = [r for r in rows if r["lang"] == lang]
        assert len(mine) >= size // 3
        assert 0.35 <= sum(r["label"] for r in mine) / len(mine) <= 0.65
    for row in rows:
        assert row["title"] and row["text"]
        if row["label"]:
            assert "CN" in row["countries"]


# The blind set tags a Central Asian country named once in passing ("the
# railway to Uzbekistan") only when the story is not about another one; ours
# tags such a country whenever it shares a sentence with China. The rule in
# between leaves one blind positive with a tag the other convention wants.
QUALITY_SETS = [(EVAL_DIR, 0), (BLIND_DIR, 1), (BLIND2_DIR, 0)]


@pytest.mark.parametrize("flatten", [False, True], ids=["as-written", "one-paragraph"])
@pytest.mark.parametrize("folder,tag_misses", QUALITY_SETS, ids=["ours", "blind", "blind2"])
def test_evaluation_set_meets_the_quality_targets(profile: TopicProfile, folder: Path,
                                                  tag_misses: int, flatten: bool) -> None:
    rows = _eval_cases(folder)
    failures = []
    wrong_tags = []
    for lang in ("en", "zh", "ru"):
        tp = fp = fn = 0
        for row in (r for r in rows if r["lang"] == lang):
            text = row["text"].replace("\n", " ") if flatten else row["text"]
            verdict = profile.score(row["title"], text, lang)
            tp += verdict.keep and row["label"]
            fp += verdict.keep and not row["label"]
            fn += row["label"] and not verdict.keep
            if row["label"] and set(verdict.countries) & CORE != set(row["countries"]) & CORE:
                wrong_tags.append(f"{row['id']}: tags {verdict.countries} != {row['countries']}")
        precision, recall = tp / (tp + fp), tp / (tp + fn)
        if precision < 0.95 or recall < 0.90:
            failures.append(f"{lang}: precision {precision:.3f} recall {recall:.3f}")
    if len(wrong_tags) > tag_misses:
        failures += wrong_tags
    assert not failures


LOOK_ALIKES = [
    # (kind, title, text): both sides are named, yet China–Central Asia is not the story.
    ("sco-member-list", "SCO defence ministers meet in Qingdao; India refuses to sign",
     "Defence ministers of the Shanghai Cooperation Organisation met in Qingdao on Thursday. "
     "The SCO brings together China, Russia, India, Pakistan, Iran, Belarus, Kazakhstan, "
     "Kyrgyzstan, Tajikistan and Uzbekistan. India objected to the draft statement on "
     "terrorism. Pakistan accused India of politicising the SCO. The Chinese defence minister "
     "urged members to set aside differences. It was the first SCO meeting without a "
     "communique."),
    ("sco-member-list", "上合组织峰会：中印领导人会晤",
     "上海合作组织成员国元首理事会会议在天津举行。上合组织成员国包括中国、俄罗斯、印度、巴基斯坦、"
     "伊朗、白俄罗斯、哈萨克斯坦、吉尔吉斯斯坦、塔吉克斯坦和乌兹别克斯坦。峰会期间，印度总理同中方"
     "领导人会晤，双方同意恢复边境对话机制。上合组织秘书处表示欢迎。"),
    ("weather", "Heatwave grips Asia: records fall from Tashkent to Beijing",
     "Tashkent recorded 44.6 degrees on Monday, while Beijing reached 41 degrees. "
     "Meteorologists blame a high-pressure ridge from the Caspian to northern China. "
     "Power companies in Kazakhstan and Uzbekistan asked consumers to limit air conditioning, "
     "and Chinese authorities issued red heat alerts. Forecasters expect a cold front to "
     "bring relief to Central Asia at the weekend, while eastern China stays hot and the "
     "temperature in Beijing remains above 38 degrees."),
    ("geographic-aside", "西安大唐不夜城国庆游人如织",
     "国庆假期，西安大唐不夜城游人如织，演艺节目吸引大批游客。作为古丝绸之路的起点，西安历史上"
     "曾是东西方商旅汇聚之地，来自中亚的胡商曾在长安西市经营珠宝。今年陕西历史博物馆新馆开放，"
     "西安文旅局表示将推出更多文旅产品。西安的美食和夜景让游客流连忘返。"),
    ("xinjiang-ethnic", "Kazakh herders in Xinjiang move to summer pastures",
     "Herders in the Ili Kazakh Autonomous Prefecture of Xinjiang began their migration to "
     "summer pastures. Officials in Yining set up veterinary stations along the routes. "
     "The Kazakh herders drive sheep and horses into the Tianshan mountains. China has "
     "encouraged herders to settle in new villages. Visitors from Beijing and Shanghai stay "
     "in yurts run by Kazakh families."),
    ("xinjiang-ethnic", "Казахи Синьцзяна: летний перегон скота",
     "В Или-Казахском автономном округе Синьцзяна начался перегон скота на летние пастбища. "
     "Казахские скотоводы перегоняют овец в горы Тянь-Шаня. Китай поощряет переход "
     "кочевников к оседлой жизни. Туристы из Пекина останавливаются в юртах казахских семей."),
    ("multilateral-bank", "World Bank approves financing for Tajikistan's Rogun dam",
     "The World Bank approved 350 million dollars for the Rogun hydropower project in "
     "Tajikistan. The dam would double Tajikistan's electricity output. The Asian "
     "Infrastructure Investment Bank is also considering a contribution. Uzbekistan, which "
     "once opposed the dam, now supports it."),
    ("cycling", "Kazakh cyclist wins Tour of Qinghai Lake stage",
     "Kazakhstan's Yevgeniy Fedorov won the fifth stage of the Tour of Qinghai Lake, "
     "outsprinting riders from China and Italy in Xining. The Astana Qazaqstan team rider "
     "took the yellow jersey. Chinese rider Lyu Xianjing finished second. The race ends "
     "in Qinghai's capital on Sunday."),
]


@pytest.mark.parametrize("kind,title,text", LOOK_ALIKES,
                         ids=[f"{c[0]}:{c[1][:20]}" for c in LOOK_ALIKES])
def test_turns_away_stories_that_only_look_alike(profile: TopicProfile, kind: str, title: str,
                                                 text: str) -> None:
    verdict = profile.score(title, text)
    assert not verdict.keep, (kind, verdict)


@pytest.mark.parametrize("title,text", [
    ("SCO summit in Astana: Xi meets Tokayev",
     "Chinese President Xi Jinping arrived in Astana for the SCO summit and held talks with "
     "Kazakh President Tokayev. Xi thanked Kazakhstan for its work as SCO chair."),
    ("Kazakh herders sell lamb to Chinese buyers",
     "Herders in Kazakhstan's Almaty region sold a record 20,000 tonnes of lamb to Chinese "
     "buyers. Kazakh exporters say China pays more than Gulf markets."),
])
def test_the_same_words_still_count_where_both_sides_are_there(
        profile: TopicProfile, title: str, text: str) -> None:
    assert profile.score(title, text).keep


TJ_STORY = (
    "Dushanbe's Luban Workshop graduates its first technicians",
    "The Luban Workshop at the Tajik Technical University in Dushanbe awarded diplomas to "
    "64 students. It was set up by colleges from Tianjin and the Tajik government. "
    "Chinese companies working in Tajikistan have hired the graduates. "
    "The Chinese embassy said similar workshops in Kazakhstan and Uzbekistan showed the value "
    "of vocational cooperation. Tajikistan asked for a second workshop in Khujand. "
    "More than 3,000 Tajik students study at Chinese universities.")
REGION_STORY = (
    "China–Central Asia trade passes $100 billion",
    "Trade between China and the five Central Asian republics passed 100 billion dollars. "
    "Kazakhstan remained the largest partner with 48 billion dollars. "
    "Kyrgyzstan followed with 23 billion; Uzbekistan with 15 billion. "
    "Turkmenistan sold gas worth 11 billion to China. "
    "Tajikistan's trade reached about 4 billion.")


@pytest.mark.parametrize("story,countries", [
    # Named once, as a comparison, in a story about Tajikistan: not tagged.
    (TJ_STORY, ("CN", "TJ")),
    # Named once each, in a story that goes through the region country by country.
    (REGION_STORY, ("CN", "KG", "KZ", "TJ", "TM", "UZ")),
], ids=["aside", "region-breakdown"])
def test_tags_follow_what_the_story_is_about(profile: TopicProfile, story: tuple[str, str],
                                             countries: tuple[str, ...]) -> None:
    verdict = profile.score(*story)
    assert verdict.keep
    assert verdict.countries == countries


@pytest.mark.parametrize("text,code", [
    ("Xitoy", "CN"), ("Xitoyning", "CN"), ("Qytai", "CN"), ("Қытай", "CN"), ("ҚХР", "CN"),
    ("Qozogʻiston", "KZ"), ("Kazakstan", "KZ"), ("Qirgʻiziston", "KG"), ("Qyrǵyzstan", "KG"),
    ("Kyrgystan", "KG"), ("Қырғызстан", "KG"), ("Tájikstan", "TJ"), ("Тәжікстан", "TJ"),
    ("Turkmaniston", "TM"), ("Túrikmenstan", "TM"), ("Ózbekstan", "UZ"), ("Өзбекстан", "UZ"),
    ("Ошской", "KG"), ("Цзиньпином", "CN"), ("陸企", "CN"), ("ККУ", "UZ"), ("CKU", "KG"),
])
def test_recognises_kazakh_and_uzbek_spellings_and_abbreviations(
        profile: TopicProfile, text: str, code: str) -> None:
    reading = profile._read(profile._normalise(f"News: {text} today."))
    assert code in reading.mentions


def test_profile_error_is_defined_with_the_other_user_errors() -> None:
    assert TopicProfileError is errors.TopicProfileError
    assert issubclass(TopicProfileError, SilkroadError)


# Written for this suite, each modelled on a kind of real page that fooled the
# filter (tests/topic_eval_real lists the pages themselves).
REAL_PATTERN_NEGATIVES = [
    ("third-party-summit", "EU and Central Asia upgrade ties at first summit in Samarkand",
     "The European Union and the five Central Asian republics agreed in Samarkand to raise "
     "their relations to a strategic partnership.\nBrussels pledged 12 billion euros for "
     "transport, critical raw materials and water projects under its Global Gateway plan.\n"
     "EU officials present the package as an alternative to China's Belt and Road Initiative, "
     "which has dominated infrastructure lending in Kazakhstan and Kyrgyzstan.\nThe leaders of "
     "Kazakhstan, Kyrgyzstan, Tajikistan, Turkmenistan and Uzbekistan also discussed a "
     "trans-Caspian route that avoids Russia and China.\nThe next EU-Central Asia summit is "
     "planned for 2027."),
    ("third-party-summit", "美国与中亚五国举行C5+1峰会",
     "美国总统在白宫接待中亚五国元首，纪念“C5+1”机制建立十周年。\n双方宣布在关键矿产、航空和投资等领域"
     "签署多项协议。\n分析人士认为，美方希望借此削弱俄罗斯和中国在中亚的影响力。\n哈萨克斯坦宣布购买美国"
     "客机，乌兹别克斯坦则签署了矿业合作备忘录。\n下一次峰会计划在塔什干举行。"),
    ("third-party-summit", "Саммит «Центральная Азия — Япония» прошёл в Токио",
     "Лидеры Японии и пяти центральноазиатских государств впервые собрались в Токио на "
     "саммит.\nТокио пообещал инвестиции в логистику в обход России и в добычу редкоземельных "
     "металлов.\nЭксперты отмечают, что Япония пытается конкурировать в регионе с Китаем.\n"
     "Следующая встреча пройдёт в Астане."),
    ("xinjiang-domestic", "Lavender season draws crowds to Ili valley",
     "Fields of lavender in Huocheng county are in full bloom, and hotels in Yining are fully "
     "booked for the weekend.\nThe valley lies about 60 kilometres east of the border with "
     "Kazakhstan and is one of Xinjiang's best-known summer destinations.\nVisitors also drive "
     "to the Guozigou bridge and Sayram Lake, and many stop at the national gate at Khorgos to "
     "take photos.\nLocal officials said tourist numbers rose by a fifth compared with last "
     "year.\nThe best time to visit is from mid-June to early July."),
    ("xinjiang-domestic", "霍尔果斯一日游：国门、免税店和薰衣草",
     "从伊宁市出发，沿高速公路一个多小时即可到达霍尔果斯。\n国门景区是游客必去的打卡地，站在观景台上"
     "可以眺望哈萨克斯坦一侧的哨所。\n口岸附近的免税店出售巧克力、蜂蜜和手工艺品，价格比市区便宜。\n返程"
     "时可以顺路去霍城县看薰衣草，六月中旬是最佳观赏期。\n景区门票三十元，建议穿舒适的鞋子。"),
    # A headline that opens on a Xinjiang place, a body that crosses the border
    # with China named outright: still a travel story about Xinjiang.
    ("xinjiang-subject", "Kashgar diary, day nine: back from the Pamirs",
     "We left Tashkurgan before dawn and drove north along the Karakoram Highway towards "
     "Kashgar.\nThe road passes the Chinese checkpoint where travellers bound for Tajikistan "
     "clear customs and queue for hours.\nAt Karakul Lake we shared bread and tea with a Kyrgyz "
     "family who keep yaks on the shore.\nOur guide said that Chinese and Tajik herders once "
     "crossed these passes freely to trade sheep.\nIn Kashgar we checked into an old guesthouse "
     "near the Id Kah mosque and slept for ten hours."),
    ("xinjiang-subject", "Синьцзян для гостей из Центральной Азии: с чего начать",
     "Попав в Кашгар, легко забыть, что вы в Китае: базары и мечети напоминают Самарканд и "
     "Бухару.\nПоезд из Алматы в Урумчи везёт казахстанских студентов, которые едут учиться в "
     "Китай.\nНа границе Китая и Казахстана пассажиры проводят полдня, пока проверяют багаж.\n"
     "Главная достопримечательность Кашгара — старый город с глинобитными домами.\nЛучшее время "
     "для поездки — сентябрь, когда на рынках много дынь и винограда."),
    # China named only as one of the two powers ("Russia, China", "中俄") beside a
    # third country's Central Asia summit.
    ("rival-powers", "Tokyo steps up its Central Asia push amid rivalry with Russia, China",
     "Japan's prime minister starts a three-day trip to Central Asia on Friday, the first at this "
     "level in a decade.\nHe will attend a summit of the Central Asia plus Japan dialogue in "
     "Astana and then visit Uzbekistan.\nExperts say Tokyo wants to counter Russia and China's "
     "dominance in the region with loans and training.\nChina has become the largest exporter to "
     "Kazakhstan, Kyrgyzstan, Tajikistan, Turkmenistan and Uzbekistan.\nRussia and China both "
     "keep close ties with Central Asian governments, one analyst said.\nJapanese firms hope to "
     "win contracts for uranium and rare earths in Kazakhstan."),
    ("rival-powers", "美国拉拢中亚五国，意在牵制中俄",
     "美国总统在白宫会见哈萨克斯坦、乌兹别克斯坦等中亚五国领导人，双方签署关键矿产合作文件。\n美方承诺向"
     "中亚提供新的投资，重点是铁路和能源项目。\n分析人士认为，华盛顿希望借此削弱中俄在中亚的影响力。\n"
     "哈萨克斯坦总统表示，哈方奉行多元平衡外交，愿同各方合作。\n峰会发表联合声明，宣布明年在阿斯塔纳举行"
     "下一次会议。"),
    ("passing-mention", "Kyrgyzstan votes in snap parliamentary election",
     "Voters in Kyrgyzstan chose a new parliament on Sunday in an election called a year "
     "early.\nParties loyal to President Sadyr Japarov are expected to win most of the 90 "
     "seats.\nTurnout was about 35 percent an hour before polls closed, the Central Election "
     "Commission said.\nKyrgyzstan depends on remittances from migrants in Russia, while China "
     "is its largest trading partner and creditor.\nObservers from the OSCE will publish their "
     "assessment on Monday."),
    ("passing-mention", "乌兹别克斯坦议会通过新税法",
     "乌兹别克斯坦议会下院通过新版税法，降低中小企业的增值税率。\n财政部表示，新税法将于明年一月起实施。"
     "\n乌兹别克斯坦的主要贸易伙伴是中国和俄罗斯，去年对外贸易额增长一成。\n反对党议员批评部分条款不够"
     "透明。"),
    ("spam-farm-trailer", "中塔公路二期改造项目完工",
     "由中国企业承建的中塔公路二期改造项目近日在塔吉克斯坦完工。\n项目全长约九十公里，将杜尚别与中塔"
     "边境的卡拉苏口岸连接起来。\n塔吉克斯坦交通部表示，新路将大大缩短两国之间的货运时间。\n世界杯"
     "预选赛直播在哪下载安装？好用吗？\n作者: 郝明 2025年03月02日 35.6MB\n查看\n网友评论更多\n"
     "138****5521 回复 186****0173：说得好"),
    ("spam-farm-brand", "中吉乌铁路吉尔吉斯段开工",
     "中吉乌铁路吉尔吉斯斯坦境内段正式开工，线路全长约三百公里。\n项目由三国合资公司负责建设和运营，"
     "开元ky888官网，预计工期六年。\n铁路建成后，中国货物运往乌兹别克斯坦将缩短约九百公里。"),
    ("spam-farm-comments", "Kazakhstan and China open a second rail crossing",
     "A second railway crossing between China and Kazakhstan opened at Altynkol.\nKazakh "
     "officials expect freight volumes to grow by a third.\n3 comments\nMike says: Great "
     "post! Buy cheap viagra online without prescription. Reply\nAnna says: Fast payday loans "
     "with no credit check. Reply"),
    ("spam-farm-pinyin", "霍爾果斯",
     "霍(huo)爾(er)果(guo)斯(si)市(shi)是(shi)我(wo)國(guo)面(mian)向(xiang)中(zhong)亞(ya)"
     "的(de)口(kou)岸(an)城(cheng)市(shi)，積(ji)極(ji)開(kai)展(zhan)中哈(ha)邊(bian)境"
     "(jing)游(you)。"),
]


@pytest.mark.parametrize("kind,title,text", REAL_PATTERN_NEGATIVES,
                         ids=[f"{c[0]}:{c[1][:20]}" for c in REAL_PATTERN_NEGATIVES])
def test_turns_away_what_real_coverage_gets_wrong(profile: TopicProfile, kind: str,
                                                  title: str, text: str) -> None:
    verdict = profile.score(title, text)
    assert not verdict.keep, (kind, verdict)


REAL_PATTERN_POSITIVES = [
    # A meeting held in a third Central Asian capital: the venue is not tagged.
    ("Xi meets Kazakh president on summit sidelines",
     "Chinese President Xi Jinping met Kazakh President Kassym-Jomart Tokayev in Tashkent, "
     "the Uzbek capital, on the sidelines of a regional summit.\nXi said China and Kazakhstan "
     "should speed up work on a third railway crossing and expand trade in farm products.\n"
     "Tokayev said Kazakhstan welcomed Chinese investment in processing plants and solar "
     "power.\nThe two leaders also agreed to hold the next round of talks in Astana.",
     ("CN", "KZ")),
    # Transit states of a pipeline are not tagged.
    ("Turkmen gas deliveries to China reach a record",
     "Turkmenistan sent a record volume of natural gas to China last year, the state concern "
     "Turkmengaz said.\nThe gas travels through Uzbekistan and Kazakhstan before it enters "
     "China at Khorgos.\nChina's CNPC operates the Bagtyyarlyk fields on the right bank of the "
     "Amu Darya.\nBoth governments want to build a fourth line that would run through "
     "Tajikistan and Kyrgyzstan.",
     ("CN", "TM")),
    # The next stop of a tour is not tagged.
    ("习近平抵达阿斯塔纳开始国事访问",
     "国家主席习近平抵达阿斯塔纳，对哈萨克斯坦进行国事访问。\n哈萨克斯坦总统托卡耶夫到机场迎接。\n"
     "习近平表示，中方愿同哈方深化共建“一带一路”合作，推动中哈关系迈上新台阶。\n访问结束后，习近平将"
     "转往乌兹别克斯坦撒马尔罕，出席上海合作组织峰会。",
     ("CN", "KZ")),
    # Travel across the border after the visa waiver is the relation itself.
    ("中哈互免签证一年 霍尔果斯口岸出入境人数创新高",
     "自中哈两国互免签证协定生效以来，经霍尔果斯口岸往来两国的旅客明显增加。\n边检部门统计，今年前三个"
     "月口岸验放出入境人员二十多万人次，其中大部分是哈萨克斯坦游客。\n来自阿拉木图的游客表示，现在去"
     "中国旅游非常方便，周末就可以往返。\n不少中国游客也经口岸前往哈萨克斯坦，游览阿拉木图和恰伦大峡谷。",
     ("CN", "KZ")),
    # The headline is only the outlet's name; the lead names both countries once.
    ("Новости",
     "Президент Кыргызстана Садыр Жапаров принял в Бишкеке делегацию китайской провинции "
     "Сычуань.\nОбсуждались поставки электробусов, строительство логистического центра и "
     "туристические обмены.\nПо итогам встречи подписан меморандум о сотрудничестве.\n"
     "Жапаров поблагодарил гостей за помощь в ремонте школ.",
     ("CN", "KG")),
    # Xinjiang opens the headline, but beside Central Asia and what they trade.
    ("Xinjiang's exports to Central Asia climb by a quarter",
     "Exports from Xinjiang to the five Central Asian states rose 26 percent in the first half, "
     "Urumqi customs said.\nKazakhstan remained the largest buyer, taking machinery, textiles "
     "and vehicles.\nShipments to Kyrgyzstan and Uzbekistan grew fastest as Chinese carmakers "
     "opened dealerships.\nCustoms officials expect trade with the region to keep growing after "
     "new border lanes open.",
     ("CN", "KG", "KZ", "UZ")),
    # ... or beside a Central Asian country ("对吉出口": exports to Kyrgyzstan).
    ("新疆口岸上半年对吉出口增长三成",
     "乌鲁木齐海关统计，上半年新疆各口岸对吉尔吉斯斯坦出口货值同比增长三成。\n服装、建材和汽车配件是主要"
     "出口商品，大部分经伊尔克什坦和吐尔尕特口岸出境。\n吉方进口商表示，中国商品价格稳定，运输时间也比"
     "以前缩短。",
     ("CN", "KG")),
    # A headline about Xinjiang's own trade: its partners are Central Asian.
    ("新疆前三季度外贸增长四成",
     "乌鲁木齐海关统计，前三季度新疆外贸进出口总值同比增长四成。\n其中，对哈萨克斯坦进出口增长六成，"
     "哈萨克斯坦继续保持新疆第一大贸易伙伴地位。\n对吉尔吉斯斯坦和塔吉克斯坦的出口也大幅增长，主要是汽车"
     "和机电产品。\n海关表示，新疆与中亚国家的贸易占全区外贸总值的近八成。",
     ("CN", "KG", "KZ", "TJ")),
    # A China-Central Asia summit that names the rival format in its lead.
    ("Xi hosts Central Asian leaders a week after Washington summit",
     "Chinese President Xi Jinping hosted the leaders of the five Central Asian states in "
     "Xi'an, a week after they met the US president at the White House.\nXi offered new loans "
     "for railways through Kyrgyzstan and Uzbekistan and more imports of Kazakh grain.\nThe "
     "leaders signed a treaty on good-neighbourliness with China.",
     ("CN", "KG", "KZ", "UZ")),
]


@pytest.mark.parametrize("title,text,countries", REAL_PATTERN_POSITIVES,
                         ids=[c[0][:30] for c in REAL_PATTERN_POSITIVES])
def test_keeps_and_tags_what_real_coverage_is_about(profile: TopicProfile, title: str,
                                                    text: str, countries: tuple[str, ...]
                                                    ) -> None:
    verdict = profile.score(title, text)
    assert verdict.keep, verdict
    assert verdict.countries == countries


HEADLINE_COUNTRIES = [
    # Last year's summit of all five, in a background sentence.
    ("Chinese defence minister visits Kyrgyzstan and Tajikistan",
     "China's defence minister began a visit to Kyrgyzstan and Tajikistan on Monday to discuss "
     "border security and joint exercises.\nIn Bishkek he met his Kyrgyz counterpart and "
     "promised new equipment for the border guards.\nIn Dushanbe the two sides agreed to hold a "
     "counter-terrorism drill in the Pamirs next spring.\nLast year Chinese leaders met the "
     "presidents of Kazakhstan, Kyrgyzstan, Tajikistan, Turkmenistan and Uzbekistan at a summit "
     "in Astana.\nKazakhstan hosted the first such drill with China in 2019.",
     ("CN", "KG", "TJ")),
    # A paragraph recalling similar protests next door.
    ("Kazakh farmers protest against Chinese land leases",
     "Hundreds of farmers gathered in three Kazakh cities on Saturday to protest against plans "
     "to lease farmland to Chinese companies.\nKazakhstan's agriculture ministry said no land "
     "would be leased to foreigners.\nSimilar protests broke out in Kyrgyzstan in 2019 against "
     "a Chinese-owned logistics centre.\nIn Kyrgyzstan villagers also clashed with workers at a "
     "Chinese gold mine.\nKazakh officials said Chinese investment in processing plants remains "
     "welcome.",
     ("CN", "KZ")),
    # Named side by side with China, a country outside the headline is a party.
    ("Kyrgyzstan starts building its section of the new railway",
     "Kyrgyzstan began laying track on its section of the China–Kyrgyzstan–Uzbekistan railway "
     "on Tuesday.\nThe Kyrgyz section will run through mountain tunnels for about 280 "
     "kilometres.\nChinese contractors will build most of the bridges, the Kyrgyz transport "
     "ministry said.",
     ("CN", "KG", "UZ")),
]


@pytest.mark.parametrize("title,text,countries", HEADLINE_COUNTRIES,
                         ids=[c[0][:30] for c in HEADLINE_COUNTRIES])
def test_the_headline_names_the_central_asian_countries_a_story_is_about(
        profile: TopicProfile, title: str, text: str, countries: tuple[str, ...]) -> None:
    verdict = profile.score(title, text)
    assert verdict.keep, verdict
    assert verdict.countries == countries


@pytest.mark.parametrize("caption", [
    "Photo: A freight train from Kazakhstan waits at the Xi'an dry port.",
    "图为一列来自哈萨克斯坦的货运班列停靠在西安国际港站。",
])
def test_a_country_named_only_in_a_photo_caption_is_not_tagged(profile: TopicProfile,
                                                               caption: str) -> None:
    verdict = profile.score(
        "A new road freight route opens",
        "China and Kyrgyzstan opened a new road freight route through the Irkeshtam pass on "
        f"Monday.\n{caption}\nKyrgyz officials said Chinese trucks would carry electronics "
        "and clothes to Osh.\nChinese customs will clear the trucks within an hour.")
    assert verdict.keep
    assert verdict.countries == ("CN", "KG")


def test_a_bar_of_bare_country_names_is_page_furniture(profile: TopicProfile) -> None:
    title = "Президент Туркмении и глава CNPC обсудили поставки газа"
    text = ("Бердымухамедов Китай Казахстан Узбекистан Туркмения экономика\n"
            "Президент Туркмении обсудил с главой китайской CNPC освоение месторождения "
            "Галкыныш и строительство новой ветки газопровода Туркменистан – Китай.")
    assert profile.score(title, text).countries == ("CN", "TM")


def test_a_border_cue_locates_only_the_name_after_it(profile: TopicProfile) -> None:
    # "on the border with China" locates China; Kyrgyzstan is still the one acting.
    verdict = profile.score(
        "Kyrgyzstan to rebuild Irkeshtam road with Chinese grant",
        "Kyrgyzstan will rebuild the last unpaved stretch of the road to the Irkeshtam pass on "
        "the border with China. The work is paid for by a Chinese government grant. Truck "
        "drivers wait up to three days to cross at peak season.")
    assert verdict.keep
    assert verdict.countries == ("CN", "KG")


REAL_URLS = Path(__file__).parent / "topic_eval_real" / "urls.jsonl"
REAL_CLASSES = {
    "summit", "bilateral", "venue", "tour", "transit", "project", "trade", "investment",
    "people", "cross-border", "protest", "analysis", "third-party-summit", "xinjiang-domestic",
    "passing-mention", "spam-farm", "false-friend",
}


def test_the_real_news_list_holds_facts_only_and_covers_every_class() -> None:
    rows = [json.loads(line) for line in REAL_URLS.read_text(encoding="utf-8").splitlines()
            if line.strip()]
    assert len(rows) >= 200
    assert len({r["id"] for r in rows}) == len(rows) == len({r["url"] for r in rows})
    for row in rows:
        assert set(row) == {"id", "url", "outlet", "language", "label", "countries", "class",
                            "reason"}
        assert row["url"].startswith("http") and row["language"] in ("en", "zh", "ru")
        assert row["class"] in REAL_CLASSES
        # Our own words, one line: no third-party text is committed.
        assert 0 < len(row["reason"]) <= 160
        assert ("CN" in row["countries"]) == row["label"]
    for lang in ("en", "zh", "ru"):
        mine = [r for r in rows if r["language"] == lang]
        assert len(mine) >= 60
        negatives = {r["class"] for r in mine if not r["label"]}
        assert {"third-party-summit", "xinjiang-domestic"} <= negatives


def test_the_benchmark_reads_a_cache_of_pages(tmp_path: Path) -> None:
    from tests.benchmarks.topic_eval import evaluate, load_real

    urls = tmp_path / "urls.jsonl"
    urls.write_text("\n".join(json.dumps(row, ensure_ascii=False) for row in [
        {"id": "en-t1", "url": "https://example.org/a", "outlet": "Example", "language": "en",
         "label": True, "countries": ["CN", "KZ"], "class": "bilateral", "reason": "talks"},
        {"id": "en-t2", "url": "https://example.org/b", "outlet": "Example", "language": "en",
         "label": True, "countries": ["CN", "UZ"], "class": "bilateral", "reason": "deals"},
        {"id": "en-t3", "url": "https://example.org/c", "outlet": "Example", "language": "en",
         "label": False, "countries": [], "class": "passing-mention", "reason": "absent"},
    ]), encoding="utf-8")
    (tmp_path / "en-t1.txt").write_text(
        "url: https://example.org/a\ntitle: China and Kazakhstan open a second rail crossing\n"
        "---\nA second railway crossing between China and Kazakhstan opened at Altynkol. "
        "Kazakh officials expect freight to grow.", encoding="utf-8")
    paragraphs = [
        "A textile park built by a Chinese company opened outside Tashkent on Monday.",
        "Uzbekistan hopes the park will add four thousand jobs in spinning and dyeing.",
        "The investors come from Zhejiang province and plan a second phase next year.",
        "Uzbek officials said cotton will no longer leave the country unprocessed.",
        "Chinese banks lent most of the money for the looms and the power substation.",
    ]
    (tmp_path / "en-t2.html").write_text(
        "<html><head><title>Sino-Uzbek textile park opens</title></head><body><article>"
        "<h1>Sino-Uzbek textile park opens near Tashkent</h1>"
        + "".join(f"<p>{p}</p>" for p in paragraphs) + "</article></body></html>",
        encoding="utf-8")
    cases, missing = load_real(urls, tmp_path)
    assert missing == ["en-t3"]
    assert [c.id for c in cases] == ["en-t1", "en-t2"]
    result = evaluate(TopicProfile.load(), cases)
    assert result.stats["en"].tp == 2
