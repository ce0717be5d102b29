//! Word lists for the synthetic generator: common US given names and surnames, street
//! names, cities with their state, ZIP range and area codes, and industries with their
//! business-name words, job titles and revenue per employee. Phone numbers use the 555
//! exchange and emails reserved example domains, so no record names a real contact.

/// A city: name as usually written, other ways it is written, state, ZIP range, area
/// codes, and a weight (how many records land there, relative).
pub struct City {
    pub name: &'static str,
    pub variants: &'static [&'static str],
    pub state: &'static str,
    pub state_name: &'static str,
    pub zip: (u32, u32),
    pub area_codes: &'static [u16],
    pub weight: u32,
}

macro_rules! city {
    ($name:expr, [$($v:expr),*], $st:expr, $stn:expr, $lo:expr, $hi:expr, [$($ac:expr),+], $w:expr) => {
        City { name: $name, variants: &[$($v),*], state: $st, state_name: $stn, zip: ($lo, $hi),
               area_codes: &[$($ac),+], weight: $w }
    };
}

#[rustfmt::skip]
pub const CITIES: &[City] = &[
    city!("New York", ["New York City", "NYC"], "NY", "New York", 10001, 10292, [212, 646, 917], 60),
    city!("Brooklyn", [], "NY", "New York", 11201, 11256, [718, 347, 929], 30),
    city!("Los Angeles", ["LA"], "CA", "California", 90001, 90089, [213, 323, 310], 45),
    city!("Chicago", [], "IL", "Illinois", 60601, 60661, [312, 773, 872], 30),
    city!("Houston", [], "TX", "Texas", 77001, 77099, [713, 281, 832], 25),
    city!("Phoenix", [], "AZ", "Arizona", 85001, 85054, [602, 480, 623], 18),
    city!("Philadelphia", [], "PA", "Pennsylvania", 19102, 19154, [215, 267], 17),
    city!("San Antonio", [], "TX", "Texas", 78201, 78266, [210], 16),
    city!("San Diego", [], "CA", "California", 92101, 92199, [619, 858], 15),
    city!("Dallas", [], "TX", "Texas", 75201, 75398, [214, 469, 972], 14),
    city!("San Jose", [], "CA", "California", 95110, 95139, [408, 669], 11),
    city!("Austin", [], "TX", "Texas", 78701, 78759, [512, 737], 11),
    city!("Jacksonville", [], "FL", "Florida", 32202, 32277, [904], 10),
    city!("Fort Worth", ["Ft. Worth", "Ft Worth"], "TX", "Texas", 76102, 76199, [817, 682], 10),
    city!("Columbus", [], "OH", "Ohio", 43201, 43235, [614, 380], 10),
    city!("Charlotte", [], "NC", "North Carolina", 28202, 28299, [704, 980], 10),
    city!("San Francisco", ["SF"], "CA", "California", 94102, 94134, [415, 628], 9),
    city!("Indianapolis", [], "IN", "Indiana", 46201, 46260, [317, 463], 9),
    city!("Seattle", [], "WA", "Washington", 98101, 98199, [206], 8),
    city!("Denver", [], "CO", "Colorado", 80202, 80249, [303, 720], 8),
    city!("Washington", ["Washington DC"], "DC", "District of Columbia", 20001, 20037, [202], 7),
    city!("Boston", [], "MA", "Massachusetts", 2108, 2137, [617, 857], 7),
    city!("Nashville", [], "TN", "Tennessee", 37201, 37250, [615, 629], 7),
    city!("Detroit", [], "MI", "Michigan", 48201, 48243, [313], 6),
    city!("Portland", [], "OR", "Oregon", 97201, 97239, [503, 971], 6),
    city!("Portland", [], "ME", "Maine", 4101, 4112, [207], 1),
    city!("Las Vegas", [], "NV", "Nevada", 89101, 89199, [702, 725], 6),
    city!("Memphis", [], "TN", "Tennessee", 38103, 38157, [901], 6),
    city!("Louisville", [], "KY", "Kentucky", 40202, 40299, [502], 6),
    city!("Baltimore", [], "MD", "Maryland", 21201, 21239, [410, 443], 6),
    city!("Milwaukee", [], "WI", "Wisconsin", 53202, 53233, [414], 5),
    city!("Albuquerque", [], "NM", "New Mexico", 87101, 87123, [505], 5),
    city!("Tucson", [], "AZ", "Arizona", 85701, 85757, [520], 5),
    city!("Fresno", [], "CA", "California", 93701, 93750, [559], 5),
    city!("Sacramento", [], "CA", "California", 95811, 95838, [916, 279], 5),
    city!("Kansas City", [], "MO", "Missouri", 64101, 64199, [816], 5),
    city!("Atlanta", [], "GA", "Georgia", 30303, 30350, [404, 470, 678], 5),
    city!("Miami", [], "FL", "Florida", 33101, 33199, [305, 786], 5),
    city!("Raleigh", [], "NC", "North Carolina", 27601, 27617, [919, 984], 5),
    city!("Omaha", [], "NE", "Nebraska", 68102, 68164, [402, 531], 5),
    city!("Minneapolis", [], "MN", "Minnesota", 55401, 55488, [612], 4),
    city!("Saint Paul", ["St. Paul", "St Paul"], "MN", "Minnesota", 55101, 55130, [651], 3),
    city!("Tulsa", [], "OK", "Oklahoma", 74103, 74137, [918], 4),
    city!("Cleveland", [], "OH", "Ohio", 44101, 44199, [216], 4),
    city!("New Orleans", [], "LA", "Louisiana", 70112, 70131, [504], 4),
    city!("Tampa", [], "FL", "Florida", 33602, 33647, [813], 4),
    city!("Pittsburgh", [], "PA", "Pennsylvania", 15201, 15244, [412], 3),
    city!("Cincinnati", [], "OH", "Ohio", 45202, 45255, [513], 3),
    city!("St. Louis", ["Saint Louis", "St Louis"], "MO", "Missouri", 63101, 63147, [314], 3),
    city!("Salt Lake City", [], "UT", "Utah", 84101, 84121, [801, 385], 3),
    city!("Orlando", [], "FL", "Florida", 32801, 32839, [407, 321], 3),
    city!("Richmond", [], "VA", "Virginia", 23219, 23242, [804], 3),
    city!("Boise", [], "ID", "Idaho", 83702, 83716, [208], 2),
    city!("Des Moines", [], "IA", "Iowa", 50309, 50321, [515], 2),
    city!("Burlington", [], "VT", "Vermont", 5401, 5408, [802], 1),
    city!("Springfield", [], "IL", "Illinois", 62701, 62712, [217], 1),
    city!("Springfield", [], "MA", "Massachusetts", 1101, 1199, [413], 1),
    city!("Springfield", [], "MO", "Missouri", 65801, 65810, [417], 1),
    city!("Anchorage", [], "AK", "Alaska", 99501, 99524, [907], 1),
    city!("Honolulu", [], "HI", "Hawaii", 96801, 96850, [808], 1),
    city!("Fort Lauderdale", ["Ft. Lauderdale"], "FL", "Florida", 33301, 33340, [954], 2),
];

#[rustfmt::skip]
pub const FEMALE_NAMES: &[&str] = &[
    "Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Jessica",
    "Sarah", "Karen", "Lisa", "Nancy", "Betty", "Sandra", "Margaret", "Ashley", "Kimberly",
    "Emily", "Donna", "Michelle", "Carol", "Amanda", "Melissa", "Deborah", "Stephanie",
    "Dorothy", "Rebecca", "Sharon", "Laura", "Cynthia", "Amy", "Kathleen", "Angela", "Shirley",
    "Brenda", "Emma", "Anna", "Pamela", "Nicole", "Samantha", "Katherine", "Christine", "Helen",
    "Debra", "Rachel", "Carolyn", "Janet", "Maria", "Catherine", "Heather", "Diane", "Olivia",
    "Julie", "Joyce", "Victoria", "Ruth", "Virginia", "Lauren", "Kelly", "Christina", "Joan",
    "Evelyn", "Judith", "Andrea", "Hannah", "Megan", "Cheryl", "Jacqueline", "Martha",
    "Madison", "Teresa", "Gloria", "Sara", "Janice", "Ann", "Kathryn", "Abigail", "Sophia",
    "Frances", "Jean", "Alice", "Judy", "Isabella", "Julia", "Grace", "Amber", "Denise",
    "Danielle", "Marilyn", "Beverly", "Charlotte", "Natalie", "Theresa", "Diana", "Brittany",
    "Doris", "Kayla", "Alexis", "Lori", "Marie", "Sofía", "Zoë", "Chloé", "Renée", "Mei",
    "Priya", "Aaliyah", "Ximena", "Fatima", "Yuki", "Lucía", "Camila", "Valentina", "Ngozi",
    "Anh",
];

#[rustfmt::skip]
pub const MALE_NAMES: &[&str] = &[
    "James", "Robert", "John", "Michael", "David", "William", "Richard", "Joseph", "Thomas",
    "Christopher", "Charles", "Daniel", "Matthew", "Anthony", "Mark", "Donald", "Steven",
    "Andrew", "Paul", "Joshua", "Kenneth", "Kevin", "Brian", "George", "Timothy", "Ronald",
    "Jason", "Edward", "Jeffrey", "Ryan", "Jacob", "Gary", "Nicholas", "Eric", "Jonathan",
    "Stephen", "Larry", "Justin", "Scott", "Brandon", "Benjamin", "Samuel", "Gregory",
    "Alexander", "Patrick", "Frank", "Raymond", "Jack", "Dennis", "Jerry", "Tyler", "Aaron",
    "Jose", "Adam", "Nathan", "Henry", "Zachary", "Douglas", "Peter", "Kyle", "Noah", "Ethan",
    "Jeremy", "Walter", "Christian", "Keith", "Roger", "Terry", "Austin", "Sean", "Gerald",
    "Carl", "Harold", "Dylan", "Arthur", "Lawrence", "Jordan", "Jesse", "Bryan", "Billy",
    "Bruce", "Gabriel", "Joe", "Logan", "Alan", "Juan", "Albert", "Willie", "Elijah", "Wayne",
    "Randy", "Vincent", "Mason", "Roy", "Ralph", "Bobby", "Russell", "Bradley", "Philip",
    "Eugene", "José", "Luis", "Carlos", "Miguel", "Wei", "Raj", "Ahmed", "Hiroshi", "Kwame",
    "Dmitri", "Andrés", "Mateo", "Omar", "Tuan",
];

#[rustfmt::skip]
pub const SURNAMES: &[&str] = &[
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall",
    "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Gomez", "Phillips", "Evans",
    "Turner", "Diaz", "Parker", "Cruz", "Edwards", "Collins", "Reyes", "Stewart", "Morris",
    "Morales", "Murphy", "Cook", "Rogers", "Gutierrez", "Ortiz", "Morgan", "Cooper", "Peterson",
    "Bailey", "Reed", "Kelly", "Howard", "Ramos", "Kim", "Cox", "Ward", "Richardson", "Watson",
    "Brooks", "Chavez", "Wood", "James", "Bennett", "Gray", "Mendoza", "Ruiz", "Hughes",
    "Price", "Alvarez", "Castillo", "Sanders", "Patel", "Myers", "Long", "Ross", "Foster",
    "Jimenez", "Powell", "Jenkins", "Perry", "Russell", "Sullivan", "Bell", "Coleman", "Butler",
    "Henderson", "Barnes", "Gonzales", "Fisher", "Vasquez", "Simmons", "Romero", "Jordan",
    "Patterson", "Alexander", "Hamilton", "Graham", "Reynolds", "Griffin", "Wallace", "Moreno",
    "West", "Cole", "Hayes", "Bryant", "Herrera", "Gibson", "Ellis", "Tran", "Medina",
    "Aguilar", "Stevens", "Murray", "Ford", "Castro", "Marshall", "Owens", "Harrison",
    "Fernandez", "McDonald", "Woods", "Washington", "Kennedy", "Wells", "Vargas", "Henry",
    "Chen", "Freeman", "Webb", "Tucker", "Guzman", "Burns", "Crawford", "Olson", "Simpson",
    "Porter", "Hunter", "Gordon", "Mendez", "Silva", "Shaw", "Snyder", "Mason", "Dixon",
    "Muñoz", "Hunt", "Hicks", "Holmes", "Palmer", "Wagner", "Black", "Robertson", "Boyd",
    "Rose", "Stone", "Salazar", "Fox", "Warren", "Mills", "Meyer", "Rice", "Schmidt", "Garza",
    "Daniels", "Ferguson", "Nichols", "Stephens", "Soto", "Weaver", "Ryan", "Gardner", "Payne",
    "Grant", "Dunn", "O'Brien", "O'Connor", "Kowalski", "Nakamura", "Okafor", "Singh", "Wang",
    "Zhang", "Cohen", "Rossi", "Novak", "Ivanov", "Haddad", "Yamamoto", "Pham", "Da Silva",
    "Van Dyke", "St. John", "McAllister", "Gallagher", "Dubois", "Müller", "Peña", "Núñez",
];

#[rustfmt::skip]
pub const STREET_NAMES: &[&str] = &[
    "Main", "Oak", "Maple", "Cedar", "Pine", "Elm", "Washington", "Lake", "Hill", "Park",
    "Walnut", "Sunset", "Lincoln", "Jefferson", "Madison", "Franklin", "Highland", "Church",
    "River", "Spring", "Ridge", "Meadow", "Forest", "Willow", "Cherry", "Chestnut", "Jackson",
    "Adams", "Center", "Mill", "Union", "Market", "Broad", "Water", "Bridge", "Front",
    "Liberty", "Prospect", "Pleasant", "Grove", "Valley", "Laurel", "Magnolia", "Dogwood",
    "Hickory", "Birch", "Aspen", "Sycamore", "Poplar", "Cypress", "Harbor", "Bay", "Ocean",
    "Summit", "Mountain View", "Country Club", "College", "University", "Kings", "Queens",
    "Martin Luther King Jr", "Peachtree", "Mission", "Colorado", "Orchard", "Canyon", "Vista",
    "Sierra", "Rosewood", "Fairview", "Lakeview", "Woodland", "Greenwood", "Cambridge",
    "Oxford", "Windsor", "Heritage", "Belmont", "Jasmine", "Juniper", "Sequoia", "Redwood",
    "Riverside", "Hillcrest", "Brookside", "Cottonwood", "Mesquite", "Palmetto", "Shoreline",
    "Old Mill", "Mill Creek", "Quail Run", "Fox Hollow", "Deer Park", "Eagle", "Hawthorne",
];

/// Ordinal street names, written as a word or with digits.
pub const ORDINALS: &[(&str, &str)] = &[
    ("First", "1st"),
    ("Second", "2nd"),
    ("Third", "3rd"),
    ("Fourth", "4th"),
    ("Fifth", "5th"),
    ("Sixth", "6th"),
    ("Seventh", "7th"),
    ("Eighth", "8th"),
    ("Ninth", "9th"),
    ("Tenth", "10th"),
];

/// Street suffixes: (long, USPS abbreviation, weight).
pub const SUFFIXES: &[(&str, &str, u32)] = &[
    ("Street", "St", 30),
    ("Avenue", "Ave", 20),
    ("Road", "Rd", 12),
    ("Drive", "Dr", 12),
    ("Boulevard", "Blvd", 6),
    ("Lane", "Ln", 8),
    ("Court", "Ct", 5),
    ("Place", "Pl", 4),
    ("Way", "Way", 5),
    ("Terrace", "Ter", 2),
    ("Circle", "Cir", 3),
    ("Parkway", "Pkwy", 2),
    ("Trail", "Trl", 2),
];

pub const DIRECTIONS: &[(&str, &str)] =
    &[("North", "N"), ("South", "S"), ("East", "E"), ("West", "W")];

/// An industry: its name, words for business names, job titles and revenue per
/// employee (US dollars a year, low and high).
pub struct Industry {
    pub name: &'static str,
    pub nouns: &'static [&'static str],
    pub titles: &'static [&'static str],
    pub revenue_per_employee: (i64, i64),
}

macro_rules! industry {
    ($name:expr, [$($n:expr),+], [$($t:expr),+], $lo:expr, $hi:expr) => {
        Industry { name: $name, nouns: &[$($n),+], titles: &[$($t),+], revenue_per_employee: ($lo, $hi) }
    };
}

#[rustfmt::skip]
pub const INDUSTRIES: &[Industry] = &[
    industry!("Construction", ["Construction", "Builders", "Contracting", "Roofing"],
        ["Project Manager", "Estimator", "Site Supervisor", "Carpenter", "Electrician"], 150_000, 300_000),
    industry!("Restaurants", ["Kitchen", "Bistro", "Catering", "Grill", "Bakery"],
        ["Chef", "Line Cook", "Server", "General Manager", "Pastry Chef"], 50_000, 90_000),
    industry!("Retail", ["Outfitters", "Market", "Goods", "Supply", "Boutique"],
        ["Store Manager", "Sales Associate", "Cashier", "Buyer", "Merchandiser"], 100_000, 250_000),
    industry!("Software", ["Software", "Labs", "Technologies", "Systems", "Digital"],
        ["Software Engineer", "Product Manager", "QA Engineer", "DevOps Engineer", "Designer"], 150_000, 400_000),
    industry!("Healthcare", ["Health", "Medical", "Clinic", "Dental", "Care"],
        ["Nurse", "Physician", "Medical Assistant", "Office Manager", "Dental Hygienist"], 100_000, 200_000),
    industry!("Legal Services", ["Law Group", "Legal", "Law Offices"],
        ["Attorney", "Paralegal", "Legal Assistant", "Office Administrator"], 200_000, 400_000),
    industry!("Accounting", ["Accounting", "CPAs", "Tax Services", "Bookkeeping"],
        ["Accountant", "Bookkeeper", "Tax Preparer", "Controller"], 120_000, 250_000),
    industry!("Real Estate", ["Realty", "Properties", "Real Estate", "Homes"],
        ["Real Estate Agent", "Broker", "Property Manager", "Leasing Consultant"], 150_000, 350_000),
    industry!("Logistics", ["Logistics", "Freight", "Transport", "Trucking", "Shipping"],
        ["Dispatcher", "Driver", "Warehouse Associate", "Logistics Coordinator"], 120_000, 280_000),
    industry!("Manufacturing", ["Manufacturing", "Industries", "Fabrication", "Machine Works"],
        ["Machinist", "Production Supervisor", "Quality Inspector", "Plant Manager"], 180_000, 350_000),
    industry!("Marketing", ["Marketing", "Media", "Creative", "Advertising"],
        ["Marketing Manager", "Copywriter", "Graphic Designer", "Account Executive"], 120_000, 250_000),
    industry!("Consulting", ["Consulting", "Advisors", "Solutions", "Strategies"],
        ["Consultant", "Senior Consultant", "Analyst", "Engagement Manager"], 150_000, 300_000),
    industry!("Landscaping", ["Landscaping", "Lawn Care", "Gardens", "Tree Service"],
        ["Landscaper", "Crew Lead", "Arborist", "Estimator"], 70_000, 140_000),
    industry!("Auto Repair", ["Auto Repair", "Automotive", "Motors", "Collision"],
        ["Mechanic", "Service Advisor", "Technician", "Parts Manager"], 100_000, 200_000),
    industry!("Education", ["Academy", "Learning", "Tutoring", "Education"],
        ["Instructor", "Tutor", "Program Director", "Curriculum Designer"], 60_000, 120_000),
    industry!("Financial Services", ["Financial", "Capital", "Wealth Management", "Insurance"],
        ["Financial Advisor", "Insurance Agent", "Analyst", "Underwriter"], 200_000, 450_000),
    industry!("Hospitality", ["Hotel", "Inn", "Suites", "Hospitality"],
        ["Front Desk Agent", "Housekeeper", "Concierge", "Hotel Manager"], 60_000, 130_000),
    industry!("Cleaning Services", ["Cleaning", "Janitorial", "Maid Service"],
        ["Cleaner", "Supervisor", "Operations Manager"], 40_000, 80_000),
    industry!("Fitness", ["Fitness", "Yoga", "Athletic Club", "Gym"],
        ["Personal Trainer", "Instructor", "Membership Coordinator"], 50_000, 110_000),
    industry!("Architecture", ["Architects", "Engineering", "Design Group"],
        ["Architect", "Civil Engineer", "Drafter", "Project Engineer"], 130_000, 260_000),
];

/// Words for business names that do not name a person.
#[rustfmt::skip]
pub const BUSINESS_ADJECTIVES: &[&str] = &[
    "Blue", "Summit", "Pioneer", "Golden", "Evergreen", "Harbor", "Keystone", "Liberty",
    "Northstar", "Redwood", "Silver", "Cornerstone", "Bright", "Prairie", "Coastal", "Granite",
    "Heritage", "Ironwood", "Lakeside", "Metro", "Pinnacle", "Riverbend", "Sterling", "Trident",
    "Union", "Vanguard", "Westfield", "Apex", "Beacon", "Cascade",
];

/// Legal-form suffixes: (long, short).
pub const BUSINESS_SUFFIXES: &[(&str, &str)] = &[
    ("LLC", "L.L.C."),
    ("Incorporated", "Inc."),
    ("Company", "Co."),
    ("Corporation", "Corp."),
    ("Group", "Group"),
    ("Partners", "Partners"),
    ("LLP", "LLP"),
];

pub const OWNER_TITLES: &[&str] = &[
    "Owner",
    "Founder",
    "CEO",
    "President",
    "Managing Partner",
    "Principal",
];

pub const PERSON_SOURCES: &[&str] = &[
    "synthetic:dmv",
    "synthetic:credit-bureau",
    "synthetic:utility",
];

pub const BUSINESS_SOURCES: &[&str] = &["synthetic:state-registry", "synthetic:trade-registry"];

pub const EMAIL_DOMAINS: &[&str] = &["example.com", "example.net", "example.org", "mail.example"];
