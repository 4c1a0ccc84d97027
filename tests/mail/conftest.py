from tests.mail.dovecot import dovecot
from tests.mail.smtpd import smtp_server

__all__ = ["dovecot", "smtp_server"]
