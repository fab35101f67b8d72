"""A desk's channels: mail polled from IMAP mailboxes and filed, replies and notices sent by SMTP and to the chat,
attachments kept. Its jobs run in the background worker."""
