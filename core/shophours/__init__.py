"""The shop's opening hours (SHOP_HOURS in SHOP_TIMEZONE): `schedule` reads them, `clock`
counts time in them (when the shop next opens, the instant N minutes of open time after
another). Pure: no I/O, times are epoch seconds, days and hours are the shop's wall clock."""
