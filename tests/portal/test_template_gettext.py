"""A page's ``_``/``gettext``/``ngettext`` are bound to its catalogue once (portal.i18n
template_gettext), and say what Flask-Babel's would: in the page's language, and in a mail's
when the mail is rendered under force_locale()."""

from __future__ import annotations

from babel.support import Translations
from flask import render_template, render_template_string
from flask_babel import force_locale, get_translations

from portal import i18n

TEXT = "{{ _('Sign in') }}|{{ gettext('Sign out') }}|{{ ngettext('%(num)d session', '%(num)d sessions', 3) }}"


def _flask_babel(source: str, app, **context) -> str:
    """The template rendered with Flask-Babel's callables (no context processors run)."""
    return app.jinja_env.from_string(source).render(**context)


def _formats(text: str, app) -> bool:
    """Whether the text is shown without variables (a '%(name)s' or a lone '%' fails then)."""
    try:
        _flask_babel("{{ _(t) }}", app, t=text)
    except (KeyError, TypeError, ValueError):
        return False
    return True


def test_a_mail_under_force_locale_is_in_the_mails_language(app):
    with app.test_request_context("/?lang=ko"):
        page = render_template_string(TEXT)
        assert page == _flask_babel(TEXT, app)
        assert page.startswith("로그인|")
        for lang, sign_in in (("en", "Sign in|"), ("zh", "登录|")):
            with force_locale(lang):
                mail = render_template("notify/tourism.confirmed.subject.txt", reference="T-1")
                assert mail == _flask_babel("{% include 'notify/tourism.confirmed.subject.txt' %}", app,
                                            reference="T-1")
                assert render_template_string(TEXT).startswith(sign_in)
            assert mail != render_template("notify/tourism.confirmed.subject.txt", reference="T-1")
        assert render_template_string(TEXT) == page  # the page's language again


def test_every_text_is_what_flask_babels_gettext_gives(app):
    """Each catalogue's every singular text without variables, escaped and not, twice (the second
    from memory); texts with variables and plurals."""
    for lang in i18n.LOCALES:
        with app.test_request_context(f"/?lang={lang}"):
            catalogue = get_translations()
            assert isinstance(catalogue, Translations)
            texts = [m for m in catalogue._catalog if isinstance(m, str) and m and _formats(m, app)]
            assert len(texts) > 100
            source = "{% for t in texts %}{{ _(t) }}\n{{ gettext(t) }}\n{% endfor %}"
            want = _flask_babel(source, app, texts=texts)
            assert render_template_string(source, texts=texts) == want
            assert render_template_string(source, texts=texts) == want
            plain = app.jinja_env.overlay(autoescape=False)
            bound = i18n.template_gettext()
            assert plain.from_string(source).render(texts=texts, **bound) == plain.from_string(source).render(
                texts=texts)
            named = "{{ _('%(price)s per person', price='<b>') }}{{ ngettext('%(num)d session', '%(num)d sessions', n) }}"
            for n in (1, 2):
                assert render_template_string(named, n=n) == _flask_babel(named, app, n=n)
