"""The office's statistics for people: as text (`text`), as charts (`charts`), posted in the staff
group (`report`: `/stats` and the weekly report) and exported as CSV or XLSX (`export`). The
figures are defined in `tickets.statistics` and `tickets.trends`, their SQL is in `storage`."""
