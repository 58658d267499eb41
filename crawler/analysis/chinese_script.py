"""Simplified or Traditional: which script a Chinese text is written in.

Readers of one script search and cite in it, and mainland, Taiwanese and Hong Kong
outlets report the region differently, so the archive keeps ``zh-Hans`` apart from
``zh-Hant``. Most frequent characters are the same in both; these are frequent ones
that differ, one list in each script, pair by pair.
"""

from __future__ import annotations

import re

SIMPLIFIED_ONLY = (
    "这们来说时国会对发经过为没动进还样产开问关点现业学实义机长与从两东体亲头记员书买卖语话认让"
    "论设证识该请读谁调谈计许贸车军转运边达远选连际陆阳队难离题页顾风飞马鱼鸟龙齐变师应张总报场"
    "处气华压岁传价众优争乐乡习区单历县响图团将层岛币带帮广库强归当录战扩护择挥数断无显杂权条极"
    "构标树桥检楼欢汉沟济测涨湾满灭灯灵热爱环电画确础种积称稳笔签简类紧红约级纪纳纸线练组织终结"
    "给络统继续维绿编网罗职联胜脑节药获营规视觉订议讯讲访评诉词试详误课谢负责败货质购费资赛轨轮"
    "软轻载较辆输违迟递遗邮邻释钢钱铁银链销锁门闭间闻阅阴阵陈险随隐韩顶项顺须领频饭馆驱驾验鲁鸡"
    "麦黄"
)
TRADITIONAL_ONLY = (
    "這們來說時國會對發經過為沒動進還樣產開問關點現業學實義機長與從兩東體親頭記員書買賣語話認讓"
    "論設證識該請讀誰調談計許貿車軍轉運邊達遠選連際陸陽隊難離題頁顧風飛馬魚鳥龍齊變師應張總報場"
    "處氣華壓歲傳價眾優爭樂鄉習區單歷縣響圖團將層島幣帶幫廣庫強歸當錄戰擴護擇揮數斷無顯雜權條極"
    "構標樹橋檢樓歡漢溝濟測漲灣滿滅燈靈熱愛環電畫確礎種積稱穩筆簽簡類緊紅約級紀納紙線練組織終結"
    "給絡統繼續維綠編網羅職聯勝腦節藥獲營規視覺訂議訊講訪評訴詞試詳誤課謝負責敗貨質購費資賽軌輪"
    "軟輕載較輛輸違遲遞遺郵鄰釋鋼錢鐵銀鏈銷鎖門閉間聞閱陰陣陳險隨隱韓頂項順須領頻飯館驅駕驗魯雞"
    "麥黃"
)
_SIMPLIFIED = re.compile(f"[{SIMPLIFIED_ONLY}]")
_TRADITIONAL = re.compile(f"[{TRADITIONAL_ONLY}]")
_TRADITIONAL_TAG = re.compile(r"(?i)[-_](hant|tw|hk|mo)\b")
_SIMPLIFIED_TAG = re.compile(r"(?i)[-_](hans|cn|sg)\b")


def chinese_tag(text: str, page_tag: str | None = None) -> str:
    """``zh-Hans`` or ``zh-Hant`` by the characters; the page's tag (``zh-TW``,
    ``zh-Hans-CN``) only when they do not tell; ``zh`` when nothing does."""
    simplified = len(_SIMPLIFIED.findall(text))
    traditional = len(_TRADITIONAL.findall(text))
    if simplified > traditional:
        return "zh-Hans"
    if traditional > simplified:
        return "zh-Hant"
    if page_tag and _TRADITIONAL_TAG.search(page_tag):
        return "zh-Hant"
    if page_tag and _SIMPLIFIED_TAG.search(page_tag):
        return "zh-Hans"
    return "zh"
