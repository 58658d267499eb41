"""Made-up news articles in English, Chinese and Russian for the throughput benchmark.

Sentences are assembled from slots filled at random (places, numbers, names,
themes), so that no two articles share long runs of words: near-duplicate
detection then only fires on the copies the benchmark plants on purpose.
On-topic articles name China and a Central Asian country in the same
sentences; off-topic ones are about sport, gadgets, weather and the arts.
Every sentence here is invented for the benchmark.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import date, timedelta

LANGUAGES = ("en", "zh", "ru")


@dataclass(frozen=True)
class SyntheticArticle:
    key: str
    language: str
    title: str
    paragraphs: tuple[str, ...]
    published: date
    author: str
    on_topic: bool

    @property
    def body(self) -> str:
        """What a perfect extractor returns: the paragraphs, one per line."""
        return "\n".join(self.paragraphs)


CA_EN = ("Kazakhstan", "Uzbekistan", "Kyrgyzstan", "Tajikistan", "Turkmenistan")
CA_CITIES_EN = ("Astana", "Almaty", "Tashkent", "Bishkek", "Dushanbe", "Ashgabat", "Samarkand",
                "Osh", "Aktau", "Khujand", "Termez", "Shymkent")
CN_CITIES_EN = ("Urumqi", "Xi'an", "Kashgar", "Lianyungang", "Chongqing", "Chengdu", "Lanzhou")
THEMES_EN = ("railway line", "gas pipeline", "grain terminal", "solar park", "logistics hub",
             "customs post", "border crossing", "hydropower station", "copper smelter",
             "freight corridor", "wind farm", "cement plant", "highway section", "dry port")
VERBS_EN = ("signed a deal on", "discussed financing for", "agreed to expand", "broke ground on",
            "completed the first stage of", "announced new funding for", "reviewed work on",
            "set a timetable for")
OFFICIALS_EN = ("the deputy energy minister", "a spokesperson for the transport ministry",
                "the regional governor", "the head of the national railway company",
                "an adviser to the president", "the trade envoy", "the customs chief")
UNITS_EN = ("tonnes of cargo", "containers", "cubic metres of gas", "megawatt-hours",
            "passengers", "trucks")

TEAMS_EN = ("Riverside Rovers", "Northgate United", "Harbour City", "the Mountain Lions",
            "Eastfield Athletic", "the Coastal Hawks", "Westbrook Rangers", "Lakeside FC")
GADGETS_EN = ("folding phone", "smartwatch", "e-reader", "pair of earbuds", "laptop",
              "home speaker", "drone", "tablet")
COMPANIES_EN = ("Brightloom", "Kestrel Labs", "Nimbus Devices", "Orchard Systems",
                "Pebblewave", "Tallow & Finch")
ARTS_EN = ("the city orchestra", "a touring theatre company", "the modern art museum",
           "a jazz quartet", "the public library", "a folk festival")
WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
FIRST_NAMES = ("Aliya", "Daniyar", "Marat", "Nodira", "Timur", "Olga", "Peter", "Grace",
               "Samuel", "Irina", "Zhanna", "Rustam", "Helen", "Chen", "Li", "Anvar")
LAST_NAMES = ("Karimova", "Sadykov", "Ivanova", "Morgan", "Baker", "Zhou", "Wang", "Tursunov",
              "Petrov", "Collins", "Nurlanova", "Abdullaev")

CA_ZH = ("哈萨克斯坦", "乌兹别克斯坦", "吉尔吉斯斯坦", "塔吉克斯坦", "土库曼斯坦")
CA_CITIES_ZH = ("阿斯塔纳", "阿拉木图", "塔什干", "比什凯克", "杜尚别", "阿什哈巴德", "撒马尔罕",
                "奥什", "阿克套", "苦盏")
CN_CITIES_ZH = ("乌鲁木齐", "西安", "喀什", "连云港", "重庆", "成都", "兰州", "霍尔果斯")
THEMES_ZH = ("铁路", "天然气管道", "粮食码头", "光伏电站", "物流中心", "口岸", "水电站",
             "铜冶炼厂", "货运通道", "风电场", "水泥厂", "公路", "陆港")
VERBS_ZH = ("签署了关于", "讨论了", "同意扩大", "启动了", "完成了一期", "宣布追加投资建设",
            "评估了", "确定了")
TEAMS_ZH = ("河畔队", "北门联", "港城队", "山狮队", "东原竞技", "海鹰队", "西溪游骑兵", "湖滨队")
GADGETS_ZH = ("折叠屏手机", "智能手表", "电子阅读器", "无线耳机", "笔记本电脑", "智能音箱",
              "无人机", "平板电脑")
COMPANIES_ZH = ("明织科技", "隼鸟实验室", "云层设备", "果园系统", "卵石波", "青柳公司")
WEATHER_ZH = ("大风", "降温", "小雨", "雷阵雨", "浮尘", "晴朗")

CA_RU = (  # nominative, instrumental, genitive
    ("Казахстан", "Казахстаном", "Казахстана"), ("Узбекистан", "Узбекистаном", "Узбекистана"),
    ("Кыргызстан", "Кыргызстаном", "Кыргызстана"),
    ("Таджикистан", "Таджикистаном", "Таджикистана"),
    ("Туркменистан", "Туркменистаном", "Туркменистана"),
)
CA_CITIES_RU = ("Астане", "Алматы", "Ташкенте", "Бишкеке", "Душанбе", "Ашхабаде", "Самарканде",
                "Оше", "Актау", "Худжанде")
THEMES_RU = (  # nominative, genitive
    ("железная дорога", "железной дороги"), ("газопровод", "газопровода"),
    ("зерновой терминал", "зернового терминала"), ("солнечная станция", "солнечной станции"),
    ("логистический центр", "логистического центра"), ("таможенный пост", "таможенного поста"),
    ("гидроэлектростанция", "гидроэлектростанции"), ("грузовой коридор", "грузового коридора"),
    ("ветровая электростанция", "ветровой электростанции"), ("сухой порт", "сухого порта"),
)
TEAMS_RU = ("«Приречье»", "«Северные ворота»", "«Портовый»", "«Горные львы»", "«Восток»",
            "«Прибрежные ястребы»", "«Западный ручей»", "«Озёрный»")
GADGETS_RU = ("складной телефон", "умные часы", "электронную книгу", "беспроводные наушники",
              "ноутбук", "умную колонку", "квадрокоптер", "планшет")
COMPANIES_RU = ("«Светлый ткач»", "«Пустельга»", "«Облако»", "«Сад-Системы»", "«Галька»")


class ArticleWriter:
    """Writes articles from a seeded random generator: the same seed, the same web."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self._serial = 0

    def article(self, language: str, on_topic: bool) -> SyntheticArticle:
        rng = self.rng
        self._serial += 1
        paragraphs = tuple(
            self._paragraph(language, on_topic) for _ in range(rng.randint(4, 10))
        )
        return SyntheticArticle(
            key=f"{language}-{self._serial:06d}",
            language=language,
            title=self._title(language, on_topic),
            paragraphs=paragraphs,
            published=date(2019, 1, 1) + timedelta(days=rng.randrange(2000)),
            author=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
            on_topic=on_topic,
        )

    def near_copy(self, article: SyntheticArticle) -> SyntheticArticle:
        """The same story lightly edited: one paragraph rewritten, as a rewrite desk does."""
        self._serial += 1
        paragraphs = list(article.paragraphs)
        paragraphs[self.rng.randrange(len(paragraphs))] = self._paragraph(
            article.language, article.on_topic)
        return replace(article, key=f"{article.language}-{self._serial:06d}",
                       paragraphs=tuple(paragraphs))

    def headline(self, language: str) -> str:
        return self._title(language, self.rng.random() < 0.5)

    # -- pieces -----------------------------------------------------------------------

    def _paragraph(self, language: str, on_topic: bool) -> str:
        sentences = [self._sentence(language, on_topic) for _ in range(self.rng.randint(2, 5))]
        return ("" if language == "zh" else " ").join(sentences)

    def _sentence(self, language: str, on_topic: bool) -> str:
        rng = self.rng
        if on_topic and rng.random() < 0.25:
            on_topic = False  # every story has some background sentences
        write = {
            ("en", True): self._en_topic, ("en", False): self._en_other,
            ("zh", True): self._zh_topic, ("zh", False): self._zh_other,
            ("ru", True): self._ru_topic, ("ru", False): self._ru_other,
        }[(language, on_topic)]
        return write(rng)

    def _title(self, language: str, on_topic: bool) -> str:
        rng = self.rng
        n = rng.randint(2, 900)
        if language == "en":
            if on_topic:
                return (f"China and {rng.choice(CA_EN)} {rng.choice(VERBS_EN)} "
                        f"{rng.choice(THEMES_EN)} worth ${n} million")
            return f"{rng.choice(COMPANIES_EN)} shows a {rng.choice(GADGETS_EN)} priced at ${n}"
        if language == "zh":
            if on_topic:
                return f"中国与{rng.choice(CA_ZH)}{rng.choice(VERBS_ZH)}{rng.choice(THEMES_ZH)}项目"
            return f"{rng.choice(COMPANIES_ZH)}推出售价{n}元的{rng.choice(GADGETS_ZH)}"
        if on_topic:
            ca = rng.choice(CA_RU)
            return f"Китай и {ca[0]} договорились о строительстве: {rng.choice(THEMES_RU)[0]}"
        return (f"Компания {rng.choice(COMPANIES_RU)} показала {rng.choice(GADGETS_RU)} "
                f"за {n} долларов")

    @staticmethod
    def _en_topic(rng: random.Random) -> str:
        ca, city, cn_city = rng.choice(CA_EN), rng.choice(CA_CITIES_EN), rng.choice(CN_CITIES_EN)
        theme, n, year = rng.choice(THEMES_EN), rng.randint(3, 950), rng.randint(2019, 2031)
        return rng.choice((
            f"China and {ca} {rng.choice(VERBS_EN)} the {theme} near {city} on "
            f"{rng.choice(WEEKDAYS_EN)}.",
            f"Speaking in {city}, {rng.choice(OFFICIALS_EN)} of {ca} said the {theme} linking "
            f"it with {cn_city} in China should move {n} thousand {rng.choice(UNITS_EN)} a "
            f"year by {year}.",
            f"Trade between {ca} and China reached {n / 10:.1f} billion dollars in {year}, "
            f"{rng.randint(2, 40)} percent more than a year earlier.",
            f"Chinese lenders will cover about {rng.randint(20, 85)} percent of the cost of "
            f"the {theme} in {ca}, according to a statement from {city}.",
            f"Delegations from Beijing and {city} also talked about the {rng.choice(THEMES_EN)} "
            f"and a second {theme}.",
            f"Engineers from {cn_city} arrived in {city} in {year} to survey a route for the "
            f"new {theme} that {ca} wants finished within {rng.randint(2, 9)} years.",
        ))

    @staticmethod
    def _en_other(rng: random.Random) -> str:
        team, other = rng.sample(TEAMS_EN, 2)
        n = rng.randint(2, 480)
        return rng.choice((
            f"{team} beat {other} {rng.randint(1, 5)}-{rng.randint(0, 3)} on "
            f"{rng.choice(WEEKDAYS_EN)} in front of {n * 100} supporters.",
            f"{rng.choice(COMPANIES_EN)} says its new {rng.choice(GADGETS_EN)} lasts {n % 60 + 8} "
            f"hours on one charge and weighs {n + 90} grams.",
            f"Forecasters expect {rng.choice(('rain', 'strong wind', 'fog', 'a cold snap'))} "
            f"through {rng.choice(WEEKDAYS_EN)}, with highs near {n % 30} degrees.",
            f"Tickets for {rng.choice(ARTS_EN)} went on sale at {n % 12 + 1} o'clock and "
            f"{n * 7} were gone within the hour.",
            f"The project employs about {n * 3} people, the company told shareholders in a "
            f"letter dated {rng.choice(WEEKDAYS_EN)}.",
            f"Residents have until the end of the month to comment on the plan, which was "
            f"revised {n % 9 + 2} times.",
        ))

    @staticmethod
    def _zh_topic(rng: random.Random) -> str:
        ca, city, cn_city = rng.choice(CA_ZH), rng.choice(CA_CITIES_ZH), rng.choice(CN_CITIES_ZH)
        theme, n, year = rng.choice(THEMES_ZH), rng.randint(3, 950), rng.randint(2019, 2031)
        return rng.choice((
            f"中国与{ca}在{city}{rng.choice(VERBS_ZH)}{theme}的合作。",
            f"{ca}官员在{city}表示，连接{cn_city}的{theme}预计{year}年每年运输{n}万吨货物。",
            f"{year}年中国同{ca}的贸易额达到{n}亿美元，同比增长{rng.randint(2, 40)}%。",
            f"中方金融机构将承担{ca}{theme}约{rng.randint(20, 85)}%的建设资金。",
            f"来自{cn_city}的工程师{year}年抵达{city}，为{ca}新的{theme}勘察线路。",
            f"北京与{city}的代表团还讨论了{rng.choice(THEMES_ZH)}和第二条{theme}。",
        ))

    @staticmethod
    def _zh_other(rng: random.Random) -> str:
        team, other = rng.sample(TEAMS_ZH, 2)
        n = rng.randint(2, 480)
        return rng.choice((
            f"{team}在周末的比赛中以{rng.randint(1, 5)}比{rng.randint(0, 3)}战胜{other}，"
            f"现场观众约{n * 100}人。",
            f"{rng.choice(COMPANIES_ZH)}称其新款{rng.choice(GADGETS_ZH)}续航{n % 60 + 8}小时，"
            f"重量为{n + 90}克。",
            f"气象台预计未来{n % 5 + 2}天将出现{rng.choice(WEATHER_ZH)}天气，最高气温{n % 30}度。",
            f"市图书馆的读书活动共吸引{n * 7}名读者报名，名额在一小时内被抢完。",
            f"该项目目前雇用约{n * 3}名员工，公司在致股东的信中说明了这一情况。",
            f"居民可以在月底前对修改了{n % 9 + 2}次的规划方案提出意见。",
        ))

    @staticmethod
    def _ru_topic(rng: random.Random) -> str:
        ca, city = rng.choice(CA_RU), rng.choice(CA_CITIES_RU)
        theme, n, year = rng.choice(THEMES_RU), rng.randint(3, 950), rng.randint(2019, 2031)
        return rng.choice((
            f"Китай и {ca[0]} подписали в {city} соглашение, проект: {theme[0]}.",
            f"Товарооборот между Китаем и {ca[1]} в {year} году составил {n / 10:.1f} млрд "
            f"долларов, что на {rng.randint(2, 40)}% больше, чем годом ранее.",
            f"Китайские банки покроют около {rng.randint(20, 85)}% стоимости "
            f"{theme[1]} на территории {ca[2]}.",
            f"Инженеры из Китая в {year} году работали в {city}, выбирая трассу для "
            f"{theme[1]}: {ca[0]} хочет завершить стройку за {rng.randint(2, 9)} лет.",
            f"Делегации Пекина и {ca[2]} обсудили также строительство {rng.choice(THEMES_RU)[1]}.",
            f"По данным министерства, через {theme[0]} между Китаем и {ca[1]} к {year} году "
            f"пройдёт {n} тысяч тонн грузов.",
        ))

    @staticmethod
    def _ru_other(rng: random.Random) -> str:
        team, other = rng.sample(TEAMS_RU, 2)
        n = rng.randint(2, 480)
        return rng.choice((
            f"Команда {team} обыграла {other} со счётом {rng.randint(1, 5)}:{rng.randint(0, 3)} "
            f"при {n * 100} зрителях.",
            f"Компания {rng.choice(COMPANIES_RU)} выпустила {rng.choice(GADGETS_RU)}, который "
            f"работает {n % 60 + 8} часов без подзарядки.",
            f"Синоптики обещают ветер и похолодание на ближайшие {n % 5 + 2} дня, днём до "
            f"{n % 30} градусов.",
            f"Билеты на концерт городского оркестра начали продавать в {n % 12 + 1} часов, и "
            f"{n * 7} штук разошлись за час.",
            f"На предприятии работают около {n * 3} человек, сообщила компания акционерам.",
            f"Жители могут до конца месяца высказаться о плане, который меняли {n % 9 + 2} раз.",
        ))
