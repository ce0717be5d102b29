//! Word tables for normalization: Latin diacritics folded to ASCII, USPS Publication 28
//! abbreviations (street suffixes, directionals, secondary units) and US state codes.

/// ASCII for the Latin letters with diacritics common in US records.
pub(super) fn fold(c: char) -> Option<&'static str> {
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å'
        | 'Ā' | 'Ă' | 'Ą' => "A",
        'æ' | 'Æ' => "AE",
        'ç' | 'ć' | 'č' | 'Ç' | 'Ć' | 'Č' => "C",
        'ď' | 'đ' | 'ð' | 'Ď' | 'Đ' | 'Ð' => "D",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' | 'È' | 'É' | 'Ê' | 'Ë' | 'Ē' | 'Ė' | 'Ę'
        | 'Ě' => "E",
        'ğ' | 'Ğ' => "G",
        'ì' | 'í' | 'î' | 'ï' | 'ī' | 'į' | 'ı' | 'Ì' | 'Í' | 'Î' | 'Ï' | 'Ī' | 'Į' | 'İ' => {
            "I"
        }
        'ł' | 'ľ' | 'Ł' | 'Ľ' => "L",
        'ñ' | 'ń' | 'ň' | 'Ñ' | 'Ń' | 'Ň' => "N",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' | 'Ō'
        | 'Ő' => "O",
        'œ' | 'Œ' => "OE",
        'ř' | 'Ř' => "R",
        'ś' | 'š' | 'ş' | 'Ś' | 'Š' | 'Ş' => "S",
        'ß' => "SS",
        'ť' | 'ţ' | 'Ť' | 'Ţ' => "T",
        'þ' | 'Þ' => "TH",
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' | 'ų' | 'Ù' | 'Ú' | 'Û' | 'Ü' | 'Ū' | 'Ů' | 'Ű'
        | 'Ų' => "U",
        'ý' | 'ÿ' | 'Ý' | 'Ÿ' => "Y",
        'ź' | 'ż' | 'ž' | 'Ź' | 'Ż' | 'Ž' => "Z",
        _ => return None,
    })
}

/// Secondary-unit designators (USPS Publication 28, appendix C2), already abbreviated.
pub(super) fn is_unit(w: &str) -> bool {
    matches!(
        w,
        "APT"
            | "BLDG"
            | "DEPT"
            | "FL"
            | "STE"
            | "RM"
            | "UNIT"
            | "SPC"
            | "TRLR"
            | "BSMT"
            | "OFC"
            | "PH"
            | "LOT"
            | "PIER"
            | "SLIP"
            | "HNGR"
    )
}

/// The USPS abbreviation of a street word (suffix, directional, unit or ordinal), if any.
pub(super) fn street_word(w: &str) -> Option<&'static str> {
    Some(match w {
        // directionals
        "NORTH" => "N",
        "SOUTH" => "S",
        "EAST" => "E",
        "WEST" => "W",
        "NORTHEAST" => "NE",
        "NORTHWEST" => "NW",
        "SOUTHEAST" => "SE",
        "SOUTHWEST" => "SW",
        // secondary units
        "APARTMENT" => "APT",
        "BUILDING" => "BLDG",
        "DEPARTMENT" => "DEPT",
        "FLOOR" => "FL",
        "SUITE" => "STE",
        "ROOM" => "RM",
        "SPACE" => "SPC",
        "BASEMENT" => "BSMT",
        "OFFICE" => "OFC",
        "PENTHOUSE" => "PH",
        "HANGAR" => "HNGR",
        // ordinals
        "FIRST" => "1ST",
        "SECOND" => "2ND",
        "THIRD" => "3RD",
        "FOURTH" => "4TH",
        "FIFTH" => "5TH",
        "SIXTH" => "6TH",
        "SEVENTH" => "7TH",
        "EIGHTH" => "8TH",
        "NINTH" => "9TH",
        "TENTH" => "10TH",
        _ => return street_suffix(w),
    })
}

/// USPS Publication 28 appendix C1: common street suffixes and their usual variants.
fn street_suffix(w: &str) -> Option<&'static str> {
    Some(match w {
        "ALLEY" | "ALLY" => "ALY",
        "ANNEX" => "ANX",
        "ARCADE" => "ARC",
        "AVENUE" | "AV" | "AVEN" | "AVENU" | "AVN" | "AVNUE" => "AVE",
        "BEACH" => "BCH",
        "BEND" => "BND",
        "BLUFF" => "BLF",
        "BOULEVARD" | "BOUL" | "BOULV" => "BLVD",
        "BRANCH" => "BR",
        "BRIDGE" => "BRG",
        "BROOK" => "BRK",
        "BYPASS" => "BYP",
        "CANYON" => "CYN",
        "CAUSEWAY" => "CSWY",
        "CENTER" | "CENTRE" | "CENTR" | "CNTR" => "CTR",
        "CIRCLE" | "CIRC" | "CIRCL" => "CIR",
        "CLIFF" => "CLF",
        "COMMON" => "CMN",
        "CORNER" => "COR",
        "COURT" => "CT",
        "COVE" => "CV",
        "CREEK" => "CRK",
        "CRESCENT" => "CRES",
        "CROSSING" => "XING",
        "DRIVE" | "DRIV" | "DRV" => "DR",
        "ESTATE" => "EST",
        "ESTATES" => "ESTS",
        "EXPRESSWAY" => "EXPY",
        "EXTENSION" => "EXT",
        "FALLS" => "FLS",
        "FERRY" => "FRY",
        "FIELD" => "FLD",
        "FOREST" => "FRST",
        "FORT" => "FT",
        "FREEWAY" => "FWY",
        "GARDEN" => "GDN",
        "GARDENS" => "GDNS",
        "GATEWAY" => "GTWY",
        "GLEN" => "GLN",
        "GREEN" => "GRN",
        "GROVE" => "GRV",
        "HARBOR" => "HBR",
        "HAVEN" => "HVN",
        "HEIGHTS" => "HTS",
        "HIGHWAY" | "HIWAY" => "HWY",
        "HILL" => "HL",
        "HILLS" => "HLS",
        "HOLLOW" => "HOLW",
        "ISLAND" => "IS",
        "JUNCTION" => "JCT",
        "KNOLL" => "KNL",
        "LAKE" => "LK",
        "LAKES" => "LKS",
        "LANDING" => "LNDG",
        "LANE" => "LN",
        "MANOR" => "MNR",
        "MEADOW" => "MDW",
        "MEADOWS" => "MDWS",
        "MILL" => "ML",
        "MOUNT" => "MT",
        "MOUNTAIN" => "MTN",
        "ORCHARD" => "ORCH",
        "PARKWAY" | "PARKWY" | "PKWAY" => "PKWY",
        "PASSAGE" => "PSGE",
        "PLACE" => "PL",
        "PLAZA" => "PLZ",
        "POINT" => "PT",
        "PORT" => "PRT",
        "RANCH" => "RNCH",
        "RIDGE" => "RDG",
        "RIVER" => "RIV",
        "ROAD" => "RD",
        "ROUTE" => "RTE",
        "SHORE" => "SHR",
        "SPRING" => "SPG",
        "SPRINGS" => "SPGS",
        "SQUARE" => "SQ",
        "STATION" => "STA",
        "STREET" | "STR" | "STRT" => "ST",
        "SUMMIT" => "SMT",
        "TERRACE" => "TER",
        "TRACE" => "TRCE",
        "TRAIL" => "TRL",
        "TRAILER" => "TRLR",
        "TUNNEL" => "TUNL",
        "TURNPIKE" => "TPKE",
        "VALLEY" => "VLY",
        "VIEW" => "VW",
        "VILLAGE" => "VLG",
        "VISTA" => "VIS",
        _ => return None,
    })
}

/// US states, the District of Columbia and the territories, by normalized name.
pub(super) const STATES: &[(&str, &str)] = &[
    ("ALABAMA", "AL"),
    ("ALASKA", "AK"),
    ("ARIZONA", "AZ"),
    ("ARKANSAS", "AR"),
    ("CALIFORNIA", "CA"),
    ("COLORADO", "CO"),
    ("CONNECTICUT", "CT"),
    ("DELAWARE", "DE"),
    ("DISTRICT OF COLUMBIA", "DC"),
    ("FLORIDA", "FL"),
    ("GEORGIA", "GA"),
    ("HAWAII", "HI"),
    ("IDAHO", "ID"),
    ("ILLINOIS", "IL"),
    ("INDIANA", "IN"),
    ("IOWA", "IA"),
    ("KANSAS", "KS"),
    ("KENTUCKY", "KY"),
    ("LOUISIANA", "LA"),
    ("MAINE", "ME"),
    ("MARYLAND", "MD"),
    ("MASSACHUSETTS", "MA"),
    ("MICHIGAN", "MI"),
    ("MINNESOTA", "MN"),
    ("MISSISSIPPI", "MS"),
    ("MISSOURI", "MO"),
    ("MONTANA", "MT"),
    ("NEBRASKA", "NE"),
    ("NEVADA", "NV"),
    ("NEW HAMPSHIRE", "NH"),
    ("NEW JERSEY", "NJ"),
    ("NEW MEXICO", "NM"),
    ("NEW YORK", "NY"),
    ("NORTH CAROLINA", "NC"),
    ("NORTH DAKOTA", "ND"),
    ("OHIO", "OH"),
    ("OKLAHOMA", "OK"),
    ("OREGON", "OR"),
    ("PENNSYLVANIA", "PA"),
    ("RHODE ISLAND", "RI"),
    ("SOUTH CAROLINA", "SC"),
    ("SOUTH DAKOTA", "SD"),
    ("TENNESSEE", "TN"),
    ("TEXAS", "TX"),
    ("UTAH", "UT"),
    ("VERMONT", "VT"),
    ("VIRGINIA", "VA"),
    ("WASHINGTON", "WA"),
    ("WEST VIRGINIA", "WV"),
    ("WISCONSIN", "WI"),
    ("WYOMING", "WY"),
    ("PUERTO RICO", "PR"),
    ("GUAM", "GU"),
    ("US VIRGIN ISLANDS", "VI"),
    ("AMERICAN SAMOA", "AS"),
    ("NORTHERN MARIANA ISLANDS", "MP"),
];
