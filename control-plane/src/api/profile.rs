//! Checks of integrator profile fields: names, website, contacts.

use crate::error::ApiError;
use crate::extract::check_text;
use crate::store::Contact;

/// Maximum number of contacts of one integrator.
const MAX_CONTACTS: usize = 50;

/// Checks the profile fields that are present.
pub(crate) fn check_profile(
    display_name: Option<&String>,
    optional: &[(&str, &Option<String>)],
    contacts: Option<&Vec<Contact>>,
) -> Result<(), ApiError> {
    if let Some(name) = display_name {
        check_text("display_name", name, 200, true)?;
    }
    for (field, value) in optional {
        let Some(value) = value else { continue };
        match *field {
            "website" if !value.is_empty() => check_website(value)?,
            "region" => check_text(field, value, 64, false)?,
            "description" => check_text(field, value, 2000, false)?,
            _ => check_text(field, value, 200, false)?,
        }
    }
    if let Some(contacts) = contacts {
        if contacts.len() > MAX_CONTACTS {
            return Err(ApiError::TooManyItems {
                count: contacts.len(),
                max: MAX_CONTACTS,
            });
        }
        for contact in contacts {
            check_text("contacts.name", &contact.name, 200, true)?;
            check_email(&contact.email)?;
            if let Some(phone) = &contact.phone {
                check_phone(phone)?;
            }
        }
    }
    Ok(())
}

fn check_website(value: &str) -> Result<(), ApiError> {
    let scheme_ok = value.starts_with("https://") || value.starts_with("http://");
    let host = value.split_once("://").map_or("", |(_, rest)| rest);
    let ok = scheme_ok
        && !host.is_empty()
        && value.len() <= 2048
        && !value.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(ApiError::field(
            "website",
            value,
            "use an absolute http:// or https:// URL without spaces, at most 2048 bytes",
        ))
    }
}

fn check_email(value: &str) -> Result<(), ApiError> {
    let ok = value.len() <= 254
        && !value.chars().any(|c| c.is_whitespace() || c.is_control())
        && value.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.contains('@')
        });
    if ok {
        Ok(())
    } else {
        Err(ApiError::field(
            "contacts.email",
            value,
            "use an address such as ops@example.com, at most 254 bytes",
        ))
    }
}

fn check_phone(value: &str) -> Result<(), ApiError> {
    let digits = value.chars().filter(char::is_ascii_digit).count();
    let ok = value.len() <= 32
        && digits >= 3
        && value
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '(' | ')' | '.'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::field(
            "contacts.phone",
            value,
            "use digits, spaces and + - ( ) . only, such as +44 20 7946 0000",
        ))
    }
}
