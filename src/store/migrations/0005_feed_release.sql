-- What the jail's roster feed last said about each person's release ("date|certainty"), so a
-- date someone set by hand (a court order, credits) is not overwritten by the next feed that
-- still carries the old date; only a feed that changes its own mind moves the date again.
-- NULL: the feed has not spoken about this person since this column exists.
ALTER TABLE persons ADD COLUMN feed_release TEXT;
UPDATE persons
   SET feed_release = coalesce(release_date, '') || '|' || coalesce(release_certainty, '')
 WHERE release_source = 'jail_management_system';
