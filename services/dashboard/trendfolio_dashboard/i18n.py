"""Every string the dashboard shows, in Korean (the default) and English, in one table."""

from __future__ import annotations

from typing import Literal, get_args

from trendfolio import backtest as bt

Lang = Literal["ko", "en"]
LANGS: tuple[Lang, ...] = get_args(Lang)
DEFAULT_LANG: Lang = "ko"

# key: (Korean, English). Placeholders use str.format names.
TEXTS: dict[str, tuple[str, str]] = {
    "page.title": (
        "📊 트렌드폴리오 — ETF 모멘텀 포트폴리오",
        "📊 Trendfolio — ETF momentum portfolios",
    ),
    "page.subtitle": (
        "SPY를 이기는 ETF에서 종목을 골라 매 거래일 장 마감 후 5·10·20일 포트폴리오를 만듭니다.",
        "Every NYSE session after the close: stocks picked from the ETFs that beat SPY, in 5-, "
        "10- and 20-day portfolios.",
    ),
    "control.date": ("기준일", "As-of date"),
    "control.language": ("언어", "Language"),
    "control.date_placeholder": ("날짜 선택", "Choose a date"),
    "lang.ko": ("한국어", "한국어"),
    "lang.en": ("English", "English"),
    "sample.banner": (
        "⚠️ 샘플 데이터입니다: 오프라인에서 생성한 가상의 시장이며 실제 가격이 아닙니다.",
        "⚠️ Sample data: a synthetic market generated offline, not real prices.",
    ),
    "fresh.line": (
        "데이터 기준일 {as_of} · 출처 {source} · 유니버스 {universe} · 마지막 성공 실행: "
        "{stages}",
        "Data as of {as_of} · source {source} · universe {universe} · last successful runs: "
        "{stages}",
    ),
    "fresh.stage": ("{stage} {as_of} ({finished})", "{stage} {as_of} ({finished})"),
    "fresh.none": ("기록 없음", "none recorded"),
    "fresh.refresh": ("5분마다 자동 새로고침", "refreshes every 5 minutes"),
    "tab.5": ("📅 5일 (1주일)", "📅 5 days (1 week)"),
    "tab.10": ("📅 10일 (2주일)", "📅 10 days (2 weeks)"),
    "tab.20": ("📅 20일 (1개월)", "📅 20 days (1 month)"),
    "tab.monthly": ("🌙 월간 비교", "🌙 Monthly"),
    "tab.backtest": ("🧪 백테스트", "🧪 Backtest"),
    "horizon.5": (
        "⚡ 5일 (1주일): 최근 5거래일 수익률 기준. 빠르게 반응하지만 위험과 기대수익이 모두 "
        "큽니다.",
        "⚡ 5 days (1 week): returns over the last 5 sessions. Fast to react, higher risk and "
        "reward.",
    ),
    "horizon.10": (
        "⚖️ 10일 (2주일): 최근 10거래일 기준. 반응 속도와 안정성의 균형을 맞춘 중간 위험 "
        "구간입니다.",
        "⚖️ 10 days (2 weeks): the last 10 sessions. Balanced between speed and stability.",
    ),
    "horizon.20": (
        "🧭 20일 (1개월): 최근 20거래일 기준의 안정적인 추세 추종. 위험이 가장 낮습니다.",
        "🧭 20 days (1 month): steady trend-following over the last 20 sessions; the lowest "
        "risk.",
    ),
    "horizon.monthly": (
        "🌙 월간 비교: 월말에 5·10·20일 포트폴리오를 합친 20종목 포트폴리오, 현재 월 ETF 순위, "
        "최근 12개월 월별 수익률을 보여줍니다.",
        "🌙 Monthly: the 20-stock portfolio merged from the 5/10/20-day portfolios at month "
        "end, this month's ETF ranking and the last 12 months' returns.",
    ),
    "horizon.backtest": (
        "🧪 백테스트: 과거 구간에서 5·10·20일·월간 포트폴리오를 규칙대로 사고팔았다면 SPY를 "
        "그냥 들고 있는 것보다 나았을지, 거래 비용을 빼고 계산합니다. 가장 최근에 저장된 "
        "실행 결과이며, 위의 기준일과는 상관없습니다.",
        "🧪 Backtest: had the 5/10/20-day and monthly portfolios been traded by their rules over "
        "a past range, would they have beaten simply holding SPY? After trading costs. The "
        "newest stored run, whatever the as-of date above.",
    ),
    "sector.title": (
        "📊 {n}일 ETF 성과 (섹터·벤치마크)",
        "📊 {n}-day ETF performance (sectors and benchmarks)",
    ),
    "sector.note": (
        "트렌딩 = {n}일 수익률이 SPY보다 높고 0%를 넘는 ETF (SPY 자신은 제외). 노란색 행은 "
        "벤치마크입니다.",
        "Trending = the {n}-day return beats SPY and is above 0% (never SPY itself). Yellow "
        "rows are benchmarks.",
    ),
    "col.rank": ("순위", "Rank"),
    "col.kind": ("구분", "Type"),
    "col.sector": ("섹터", "Sector"),
    "col.name": ("이름", "Name"),
    "col.etf": ("ETF", "ETF"),
    "col.return_n": ("{n}일 수익률", "{n}-day return"),
    "col.vs_spy": ("SPY 대비", "vs SPY"),
    "col.status": ("상태", "Status"),
    "col.ticker": ("종목", "Stock"),
    "col.company": ("회사명", "Company"),
    "col.source_etf": ("출처 ETF", "Source ETF"),
    "col.mcap": ("시가총액 ($B)", "Market cap ($B)"),
    "col.weight": ("비중", "Weight"),
    "col.score": ("점수", "Score"),
    "col.periods": ("출처 기간", "From periods"),
    "col.holding_return": ("해당 종목 기간 수익률", "Period return"),
    "kind.benchmark": ("벤치마크", "Benchmark"),
    "kind.sector": ("섹터", "Sector"),
    "kind.both": ("벤치마크·섹터", "Benchmark · sector"),
    "status.trending": ("✅ 트렌딩", "✅ Trending"),
    "status.reference": ("기준", "Reference"),
    "status.none": ("—", "—"),
    "portfolio.title": (
        "💼 {n}일 포트폴리오 ({count}종목)",
        "💼 {n}-day portfolio ({count} stocks)",
    ),
    "portfolio.note": (
        "트렌딩 ETF마다 {n}일 수익률이 가장 높은 보유 종목 하나를 고르고, 수익률 ÷ 시가총액에 "
        "비례해 비중을 나눕니다.",
        "Each trending ETF contributes its holding with the best {n}-day return; weights are "
        "proportional to return ÷ market cap.",
    ),
    "portfolio.empty": (
        "이 날짜에는 {n}일 포트폴리오가 없습니다 (트렌딩 ETF가 없거나 양의 수익률 종목이 없음).",
        "No {n}-day portfolio on this date (no trending ETF, or no pick with a positive return).",
    ),
    "portfolio.estimated": ("추정 시가총액", "estimated market cap"),
    "chart.weights": ("종목별 비중 (%)", "Weight by stock (%)"),
    "chart.weight_axis": ("비중 (%)", "Weight (%)"),
    "cards.title": (
        "💎 ETF별 그룹 카드: 상위 {k}개 종목 ({n}일 기준)",
        "💎 ETF cards: top {k} holdings ({n} days)",
    ),
    "cards.pick": (
        "🎯 포트폴리오 선정: {ticker}{name} | 기간 수익률 {ret} | 기준 ETF {etf}",
        "🎯 Portfolio pick: {ticker}{name} | period return {ret} | source ETF {etf}",
    ),
    "cards.empty": ("표시할 ETF 카드가 없습니다.", "No ETF cards to show."),
    "cards.no_holdings": (
        "보유 종목 분석 데이터가 없습니다.",
        "No holdings analytics for this ETF.",
    ),
    "badge.benchmark": ("Benchmark", "Benchmark"),
    "badge.trending": ("Trending", "Trending"),
    "star.pick": ("★포트폴리오", "★Portfolio"),
    "monthly.title": (
        "💼 월간 포트폴리오 (최종 {count}개 종목)",
        "💼 Monthly portfolio ({count} stocks)",
    ),
    "monthly.footer": (
        "리밸런싱 {rebalance} · 유효기간 {valid} 까지 · 비중 합계 {total} · 상위 10개 종목은 "
        "초록색",
        "Rebalanced {rebalance} · valid until {valid} · total weight {total} · top 10 in green",
    ),
    "monthly.empty": (
        "아직 월간 포트폴리오가 없습니다 (월말 거래일에 만들어집니다).",
        "No monthly portfolio yet (it is built on the last session of a month).",
    ),
    "ranking.title": (
        "📊 현재 월 ETF 성과 순위 (20일 수익률 기준)",
        "📊 This month's ETF ranking (20-day return)",
    ),
    "ranking.footer": (
        "ETF {count}개 · 노란색 행은 벤치마크입니다.",
        "{count} ETFs · yellow rows are benchmarks.",
    ),
    "history.title": (
        "🗓️ 최근 12개월 월별 수익률 (%)",
        "🗓️ Monthly returns over the last 12 months (%)",
    ),
    "history.note": (
        "월말 종가 대비 월말 종가 수익률. 마지막 열은 진행 중인 달입니다. 노란색 행은 "
        "벤치마크입니다.",
        "Month-end to month-end returns; the last column is the month in progress. Yellow rows "
        "are benchmarks.",
    ),
    "history.current": ("{month} (진행 중)", "{month} (to date)"),
    "history.empty": ("월별 수익률 데이터가 없습니다.", "No monthly returns yet."),
    "vs_spy.title": (
        "📈 월간 포트폴리오 vs SPY (누적 수익률)",
        "📈 Monthly portfolio vs SPY (cumulative return)",
    ),
    "vs_spy.portfolio": ("월간 포트폴리오", "Monthly portfolio"),
    "vs_spy.spy": ("SPY", "SPY"),
    "vs_spy.x": ("날짜", "Date"),
    "vs_spy.y": ("누적 수익률 (%)", "Cumulative return (%)"),
    "vs_spy.empty": ("비교할 데이터가 아직 없습니다.", "Nothing to compare yet."),
    "backtest.title": (
        "🧪 백테스트 {start} ~ {end} ({sessions}거래일)",
        "🧪 Backtest {start} to {end} ({sessions} sessions)",
    ),
    "backtest.run": (
        "실행 #{id} · 유니버스 {universe} · 출처 {source} · 거래 비용 {cost_bps}bp · 신호 후 "
        "{lag}거래일 뒤 종가에 매매 · 저장 {created}",
        "Run #{id} · universe {universe} · source {source} · costs {cost_bps} bps · traded at "
        "the close {lag} session(s) after each signal · stored {created}",
    ),
    "backtest.empty": (
        "아직 저장된 백테스트가 없습니다. 먼저 실행하세요: trendfolio backtest --start "
        "YYYY-MM-DD --end YYYY-MM-DD (예: --start 2026-04-20 --end 2026-08-20).",
        "No backtest stored yet. Run one first: trendfolio backtest --start YYYY-MM-DD --end "
        "YYYY-MM-DD (e.g. --start 2026-04-20 --end 2026-08-20).",
    ),
    "backtest.pit_title": (
        "⚠️ 시점 정합성(point-in-time)이 지켜지지 않은 백테스트입니다",
        "⚠️ This backtest is NOT point-in-time",
    ),
    "backtest.pit_counts": (
        "신호일 {dates}일 중 문제없는 날 {clean}일 · 보유 종목 날짜 정상 {holdings}일 · "
        "시가총액 날짜 정상 {caps}일 · 그날까지 저장된 데이터만 사용 {recorded}일",
        "{clean} of {dates} signal dates clean · holdings dated in time {holdings} · market "
        "caps dated in time {caps} · only data stored by then {recorded}",
    ),
    "backtest.pit_ok": (
        "✅ 시점 정합성 확인: 신호일 {dates}일 모두 그날까지 기록된 보유 종목과 시가총액만 "
        "썼습니다.",
        "✅ Point-in-time: all {dates} signal dates used only holdings and market caps recorded "
        "by then.",
    ),
    "backtest.equity_title": (
        "📈 누적 수익률: 전략별 vs SPY (비용 차감 후)",
        "📈 Cumulative return: each strategy vs SPY (after costs)",
    ),
    "backtest.equity_y": ("누적 수익률 (%)", "Cumulative return (%)"),
    "backtest.drawdown_title": (
        "📉 낙폭: 직전 최고점 대비 하락률",
        "📉 Drawdown: the fall from the running peak",
    ),
    "backtest.drawdown_y": ("낙폭 (%)", "Drawdown (%)"),
    "backtest.metrics_title": ("📋 성과 지표", "📋 Metrics"),
    "backtest.metrics_note": (
        "모든 수치는 거래 비용을 뺀 자산 곡선에서 계산합니다. 연환산은 1년 = 252거래일 기준. "
        "회전율 100%는 포트폴리오 전체를 한 번 바꾼 만큼입니다. 승률은 보유 기간 중 SPY보다 "
        "수익률이 높았던 기간의 비율입니다. 노란색 행은 벤치마크(SPY)입니다.",
        "Every figure comes from the equity curve after costs; annualised with 252 sessions a "
        "year. A turnover of 100% replaces the whole portfolio once. Beat SPY = the share of "
        "holding periods whose return beat SPY's. The yellow row is the benchmark (SPY).",
    ),
    "backtest.turnover_title": ("🔁 매매별 회전율", "🔁 Turnover of each trade"),
    "backtest.turnover_y": ("회전율 (%)", "Turnover (%)"),
    "backtest.picks_title": (
        "🎯 종목 선정만 따로: 선정 종목 vs 출처 ETF의 이후 수익률",
        "🎯 The pick leg alone: each pick's forward return vs its source ETF",
    ),
    "backtest.picks_note": (
        "각 포트폴리오가 고른 종목을 신호일 종가에 사서 N거래일 들고 있었을 때의 수익률을, 그 "
        "종목을 고른 ETF의 같은 기간 수익률과 비교합니다. 구간 끝을 넘는 경우는 세지 않습니다.",
        "Each pick bought at its signal's close and held N sessions, against the ETF it was "
        "picked from over the same sessions; holdings that run past the end are not counted.",
    ),
    "backtest.picks_empty": (
        "종목 선정 수익률을 계산할 만큼 구간이 길지 않습니다.",
        "The range is too short for the pick leg's forward returns.",
    ),
    "backtest.caveats_title": ("📝 유의 사항", "📝 Caveats"),
    "strategy.5d": ("5일 포트폴리오", "5-day portfolio"),
    "strategy.10d": ("10일 포트폴리오", "10-day portfolio"),
    "strategy.20d": ("20일 포트폴리오", "20-day portfolio"),
    "strategy.monthly": ("월간 포트폴리오", "Monthly portfolio"),
    "strategy.SPY": ("SPY (매수 후 보유)", "SPY (buy and hold)"),
    "col.strategy": ("전략", "Strategy"),
    "col.total_return": ("총수익률", "Total return"),
    "col.cagr": ("연환산 수익률 (CAGR)", "CAGR"),
    "col.volatility": ("변동성 (연환산)", "Volatility (annualised)"),
    "col.sharpe": ("샤프 비율", "Sharpe"),
    "col.max_drawdown": ("최대 낙폭", "Max drawdown"),
    "col.turnover_per_year": ("연간 회전율", "Turnover / year"),
    "col.trades": ("매매 횟수", "Trades"),
    "col.hit_rate": ("SPY 대비 승률", "Beat SPY"),
    "col.portfolio": ("포트폴리오", "Portfolio"),
    "col.horizon": ("보유 기간", "Held for"),
    "col.picks": ("종목 수", "Picks"),
    "col.mean_pick_return": ("평균 종목 수익률", "Mean pick return"),
    "col.mean_etf_return": ("평균 ETF 수익률", "Mean ETF return"),
    "col.mean_excess": ("평균 초과수익", "Mean excess"),
    "col.median_excess": ("초과수익 중앙값", "Median excess"),
    "col.beat_etf_share": ("ETF를 이긴 비율", "Beat the ETF"),
    "horizon.sessions": ("{n}거래일", "{n} sessions"),
    # Caveats: the Korean words, and as English the template `trendfolio backtest` fills in.
    "caveat.not_point_in_time": (
        "시점 정합성 없음: 신호일 {total}일 중 {dated}일은 그 날짜보다 뒤에 날짜가 매겨진 보유 "
        "종목이나 시가총액을 썼고, {stored}일은 그 날짜보다 뒤에 저장된 데이터를 썼습니다 "
        "(실시간 실행이 기록한 것이 아니라 나중에 수집한 것). yfinance 같은 출처는 오늘의 보유 "
        "종목과 시가총액만 주기 때문에, 과거 구간의 백테스트는 그때는 몰랐던 정보로 종목을 고른 "
        "셈입니다(미래 정보 편향, 생존 편향). 이 결과는 실제보다 좋게 나왔다고 보세요. 일일 "
        "파이프라인은 운영을 시작한 날부터 모든 스냅샷과 시가총액을 날짜와 함께 저장하므로, "
        "실제로 운영한 거래일만으로 한 백테스트는 이 문제가 없습니다.",
        bt.CAVEAT_NOT_POINT_IN_TIME,
    ),
    "caveat.stale_snapshot": (
        "사용한 가장 오래된 보유 종목 스냅샷은 {oldest} 기준으로, 첫 신호일보다 {days}일 "
        "앞섭니다. 그때의 ETF 구성 비중은 각 날짜의 실제 비중과 다릅니다.",
        bt.CAVEAT_STALE_SNAPSHOT,
    ),
    "caveat.sample": (
        "샘플 데이터: 가격이 실제 시장이 아니라 합성한 `sample` 시장에서 나왔습니다.",
        bt.CAVEAT_SAMPLE,
    ),
    "caveat.short": (
        "거래일이 {sessions}일뿐입니다. 연환산 수치(CAGR, 변동성, 샤프 비율, 연간 회전율)는 "
        "짧은 구간을 1년으로 늘린 값이라 흔들림이 큽니다.",
        bt.CAVEAT_SHORT,
    ),
    "caveat.costs": (
        "거래 비용은 매매할 때마다 회전율의 {cost_bps}bp입니다. 그 밖의 슬리피지나 세금은 "
        "없고, 배당은 수정 종가에 반영된 만큼만 들어갑니다. 매매는 신호일로부터 {lag}거래일 "
        "뒤 종가에 체결됩니다.",
        bt.CAVEAT_COSTS,
    ),
    "caveat.missing_prices": (
        "다음 종목은 구간 끝까지의 가격을 수집하지 못했습니다: {tickers}. 가격이 없는 날의 "
        "수익률은 0으로 계산했습니다.",
        bt.CAVEAT_MISSING_PRICES,
    ),
    "caveat.untranslated": ("(번역되지 않은 원문) {text}", "{text}"),
    "method.title": ("📘 방법론", "📘 Methodology"),
    "method.items": (
        "매 NYSE 거래일 장 마감 후, 그날(기준일)까지의 데이터만으로 계산합니다.|수익률 = 기준일 "
        "종가 ÷ N거래일 전 종가 − 1 (수정 종가 우선).|트렌딩 ETF = N일 수익률이 SPY보다 높고 "
        "0%를 넘는 ETF입니다.|트렌딩 ETF마다 상위 10개 보유 종목 중 시가총액 상위 5개를 후보로 "
        "삼고, N일 수익률이 가장 높은 종목 하나를 고릅니다 (이미 고른 종목은 제외, 수익률이 0 "
        "이하면 제외).|비중 = (수익률 ÷ 시가총액) ÷ 합계 — 비중의 합은 100%입니다.|월간 "
        "포트폴리오 = 월말 거래일의 5·10·20일 비중 평균 상위 20종목, 다음 달 말까지 유효합니다.",
        "Every NYSE session after the close, using only data dated on or before that "
        "session.|Return = close on the as-of date ÷ close N sessions earlier − 1 (adjusted "
        "close first).|A trending ETF beats SPY over N sessions and has a return above 0%.|Each "
        "trending ETF's candidates are the 5 largest by market cap among its top 10 holdings; "
        "it picks the one with the best N-day return not picked already, and none if that "
        "return is not positive.|Weight = (return ÷ market cap) ÷ the sum, so weights add up to "
        "100%.|Monthly portfolio = the 20 best average 5/10/20-day weights on a month's last "
        "session, valid until the end of the next month.",
    ),
    "error.title": ("데이터를 불러오지 못했습니다", "Could not load the data"),
    "error.unreachable": (
        "API 서버({url})에 연결할 수 없습니다. 서버가 실행 중인지 확인하세요. ({reason})",
        "Cannot reach the API at {url}. Check that it is running. ({reason})",
    ),
    "error.status": (
        "API가 {path} 요청에 {status} 응답을 보냈습니다: {detail}",
        "The API answered {status} to {path}: {detail}",
    ),
    "error.auth": (
        "API 키가 없거나 틀립니다 (TRENDFOLIO_API_KEY를 확인하세요).",
        "The API key is missing or wrong (check TRENDFOLIO_API_KEY).",
    ),
    "error.invalid": (
        "API 응답을 해석할 수 없습니다: {path}",
        "Could not read the API's answer: {path}",
    ),
    "nodata.title": ("아직 데이터가 없습니다", "No data yet"),
    "nodata.body": (
        "파이프라인을 먼저 실행하세요: trendfolio run (또는 trendfolio demo).",
        "Run the pipeline first: trendfolio run (or trendfolio demo).",
    ),
    "footer": (
        "트렌드폴리오 · 데이터는 API에서만 읽습니다 · 투자 권유가 아닙니다.",
        "Trendfolio · every number comes from the API · not investment advice.",
    ),
}


def t(key: str, lang: str, **values: object) -> str:
    """The text for ``key`` in ``lang`` (Korean for an unknown language), with values filled in."""
    ko, en = TEXTS[key]
    text = en if lang == "en" else ko
    return text.format(**values) if values else text


def lang_or_default(value: object) -> Lang:
    return "en" if value == "en" else DEFAULT_LANG
