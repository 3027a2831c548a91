package moderation

// DefaultPrivacy is the Markdown of the /privacy page until an admin edits
// it: what the product stores, why and for how long, as it really works.
const DefaultPrivacy = `# Privacy

This community is run by the company whose product it supports. This page says what the forum stores about you, why, and for how long. It is not for anyone under 16.

## What we store and why

- **Your account:** username, email address, display name, bio, and your password as an argon2id hash (never the password itself). If you sign in with another account (GitHub, Google, Microsoft, GitLab, your company's sign-in, or the product's single sign-on), we keep that account's id, the email it gave, and what the product told us (such as your company), to sign you in and to show staff who you are.
- **What you post:** topics, replies and every earlier version of an edited post, likes, flags you raise, your badges and level. These make the community work; moderators keep removed posts so that decisions can be reviewed and appealed.
- **Your choices:** email preferences, what you watch or muted.
- **Signing in:** for each browser signed in, the address it came from and its user agent, to spot abuse and to let you see and end your sessions. API tokens are stored as hashes.
- **Notifications and mail:** what you were notified about, and the mail we sent you (address, subject, when), so we can stop sending to addresses that bounce.
- **Moderation:** actions moderators take on your account or posts, with the guideline and reason, in a tamper-evident log; staff notes about your account.
- **Views:** a view of a topic is counted under your member id, or a one-way hash of your address when you are signed out, once an hour. If your browser sends Do Not Track or Global Privacy Control, the view is counted without any identifier.

## How long

- Addresses and user agents of sessions, view records and mail already sent are deleted after the retention period the operator sets (90 days unless changed). Expired sessions, API tokens and sign-ins in progress are deleted within the hour.
- Links in our mail (confirming an address, resetting a password, unsubscribing) are signed and stop working by themselves; nothing about them is stored.
- Your account and posts are kept until you delete them.

## Cookies

Only cookies the forum needs: your session (while you are signed in), a security token against forged forms, and, for ten minutes while you sign in with another account, the sign-in state. No tracking, no advertising, no analytics. Pages load nothing from other sites, except the YouTube and Vimeo videos members embed in posts.

## Your rights

In **Settings** you can see and correct your profile, username and address, see where you are signed in and end any session, choose which mail you get (every mail also has a one-click unsubscribe link), download everything we hold about you, and delete your account. Deleting it removes your personal data at once; what you posted stays, signed by a deleted member, as this policy allows, unless you choose to delete your posts too. Usernames you used before stay yours, so links to them lead to you, until you delete your account.

## Mail

We send mail only when you turn a kind on in Settings, apart from the link that confirms your address and password resets you ask for. Every mail carries an unsubscribe link and the operator's postal address.
`
