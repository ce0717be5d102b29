//! Test records shared by the verification engine's unit tests (`#[cfg(test)]` only).

use serde_json::{Value, json};

use super::record::{ParseContext, from_json_line};
use crate::store::{EntityRecord, EntityWrite};

/// 2025-06-01.
pub const NOW: i64 = 1_748_736_000;

/// Parses one record given as JSON (as the importer would).
pub fn write(v: Value) -> EntityWrite {
    from_json_line(&v.to_string(), &ParseContext::at(NOW)).expect("fixture record parses")
}

pub fn record(v: Value) -> EntityRecord {
    write(v).record
}

/// Jane Smith of 123 North Main Street, Los Angeles, employed by Acme (B1).
pub fn jane() -> Value {
    json!({
        "external_id": "P1", "kind": "person", "name": "Jane Smith",
        "street": "123 North Main Street, Apt 4", "city": "Los Angeles", "region": "California",
        "postal": "90012-3456", "phone": "(213) 555-0100", "email": "Jane.Smith@Example.com",
        "source": "dmv", "verified_at": "2024-03-01",
        "attributes": {
            "birth_year": 1984, "employer": "B1", "title": "Purchasing Manager",
            "start_year": 2015,
            "previous_addresses": [{"street": "77 Elm Avenue", "city": "Pasadena",
                                     "region": "CA", "postal": "91101"}]
        }
    })
}

/// Acme Widgets, Inc., a manufacturer with an office network.
pub fn acme() -> Value {
    json!({
        "external_id": "B1", "kind": "business", "name": "Acme Widgets, Incorporated",
        "street": "500 Industrial Blvd", "city": "Los Angeles", "region": "CA",
        "postal": "90021", "phone": "+1 213 555 0199", "email": "office@acme.example",
        "source": "registry", "verified_at": "2024-01-15",
        "attributes": {
            "founded_year": 1998, "annual_revenue": 12_500_000, "employee_count": 85,
            "industry": "Manufacturing", "registration_number": "C1234567",
            "office_networks": ["198.51.100.0/28"]
        }
    })
}

/// A record like `base` with other values for some fields.
pub fn with(mut base: Value, changes: Value) -> Value {
    if let (Some(b), Some(c)) = (base.as_object_mut(), changes.as_object()) {
        for (k, v) in c {
            b.insert(k.clone(), v.clone());
        }
    }
    base
}
