"""gunicorn settings for every deployment of the portal (gunicorn reads this file from the
working directory; the README's commands run there).

The access log names a request's path, never its query string or referrer: links carry
access tokens (``?t=``) and a booking lookup an email address; neither belongs in a log.
"""

access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)s'
