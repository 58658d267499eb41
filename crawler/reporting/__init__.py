"""The coverage report: the archive's figures (``storage.coverage``) drawn as Vega-Lite
charts and written as one offline HTML page, with PNG and SVG of each chart.

    filters.py   the report's filters, checked against what the archive can hold
    charts.py    figures -> Vega-Lite specs (altair)
    page.py      specs -> one self-contained HTML page (Vega's JavaScript inlined)
    images.py    specs -> PNG and SVG (vl-convert, no browser)
"""
