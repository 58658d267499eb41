"""Each chart as PNG and SVG, for slides: drawn by vl-convert (Vega in an embedded
JavaScript engine), no browser needed. Chinese and Cyrillic labels need a system font
that has them (Noto CJK on Debian: fonts-noto-cjk)."""

from __future__ import annotations

from dataclasses import dataclass

from crawler.reporting.charts import VEGALITE_VERSION, Chart

PNG_SCALE = 2  # sharp on a projector


@dataclass(frozen=True)
class ChartImages:
    name: str
    png: bytes
    svg: str


def chart_images(chart: Chart) -> ChartImages | None:
    """None for a chart with nothing to draw."""
    if chart.spec is None:
        return None
    import vl_convert

    return ChartImages(
        name=chart.name,
        png=vl_convert.vegalite_to_png(chart.spec, vl_version=VEGALITE_VERSION, scale=PNG_SCALE),
        svg=vl_convert.vegalite_to_svg(chart.spec, vl_version=VEGALITE_VERSION),
    )
