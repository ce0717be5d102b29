-- Consent memory for developer apps (issue 10): the optional permissions of the app's
-- profile the user unticked on the consent page, space separated ('' when none). A
-- request asking only for held and declined permissions is not asked again; the page
-- offers a declined permission unticked when it is shown (prompt=consent, a request
-- that grew).
ALTER TABLE app_authorizations ADD COLUMN declined TEXT NOT NULL DEFAULT '';
