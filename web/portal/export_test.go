package portal

// The page's bounds, for the external tests.
const (
	MaxToday      = maxToday
	HistoryEvents = historyEvents
)
