//! Vietnamese names, provinces and commune names for the generated data set.

/// The 34 provinces and cities since 1 July 2025, with a rough population share (millions,
/// rounded) that decides how many donors, drives and events each one gets, and a province
/// code for the citizen ids of donors registered there.
pub const PROVINCES: [(&str, f64, u32); 34] = [
    ("Thành phố Hà Nội", 8.7, 1),
    ("Thành phố Hồ Chí Minh", 14.0, 79),
    ("Thành phố Hải Phòng", 4.7, 31),
    ("Thành phố Đà Nẵng", 3.1, 48),
    ("Thành phố Cần Thơ", 4.2, 92),
    ("Thành phố Huế", 1.2, 46),
    ("Tỉnh Lai Châu", 0.5, 12),
    ("Tỉnh Điện Biên", 0.6, 11),
    ("Tỉnh Sơn La", 1.3, 14),
    ("Tỉnh Lạng Sơn", 0.8, 20),
    ("Tỉnh Quảng Ninh", 1.4, 22),
    ("Tỉnh Thanh Hóa", 3.7, 38),
    ("Tỉnh Nghệ An", 3.5, 40),
    ("Tỉnh Hà Tĩnh", 1.3, 42),
    ("Tỉnh Cao Bằng", 0.6, 4),
    ("Tỉnh Tuyên Quang", 1.8, 8),
    ("Tỉnh Lào Cai", 1.7, 10),
    ("Tỉnh Thái Nguyên", 1.8, 19),
    ("Tỉnh Phú Thọ", 4.0, 25),
    ("Tỉnh Bắc Ninh", 3.6, 27),
    ("Tỉnh Hưng Yên", 3.6, 33),
    ("Tỉnh Ninh Bình", 4.4, 37),
    ("Tỉnh Quảng Trị", 1.9, 45),
    ("Tỉnh Quảng Ngãi", 2.2, 51),
    ("Tỉnh Gia Lai", 3.6, 64),
    ("Tỉnh Khánh Hòa", 2.2, 56),
    ("Tỉnh Lâm Đồng", 3.9, 68),
    ("Tỉnh Đắk Lắk", 3.4, 66),
    ("Tỉnh Đồng Nai", 4.5, 75),
    ("Tỉnh Tây Ninh", 3.3, 72),
    ("Tỉnh Vĩnh Long", 4.3, 86),
    ("Tỉnh Đồng Tháp", 4.4, 87),
    ("Tỉnh Cà Mau", 2.6, 96),
    ("Tỉnh An Giang", 4.9, 89),
];

/// Surnames with a rough share (percent) of the population.
pub const SURNAMES: [(&str, f64); 24] = [
    ("Nguyễn", 38.0),
    ("Trần", 11.0),
    ("Lê", 9.5),
    ("Phạm", 7.0),
    ("Hoàng", 5.1),
    ("Huỳnh", 4.0),
    ("Phan", 4.5),
    ("Vũ", 3.9),
    ("Võ", 3.0),
    ("Đặng", 2.1),
    ("Bùi", 2.0),
    ("Đỗ", 1.4),
    ("Hồ", 1.3),
    ("Ngô", 1.3),
    ("Dương", 1.0),
    ("Lý", 0.5),
    ("Đinh", 0.6),
    ("Trịnh", 0.5),
    ("Mai", 0.5),
    ("Lương", 0.4),
    ("Hà", 0.5),
    ("Giàng", 0.2),
    ("Lò", 0.2),
    ("Triệu", 0.3),
];

/// Middle names by sex.
pub const MIDDLE_MALE: [&str; 10] = [
    "Văn", "Đức", "Minh", "Quang", "Hữu", "Thanh", "Công", "Xuân", "Ngọc", "Tuấn",
];
/// Middle names by sex.
pub const MIDDLE_FEMALE: [&str; 10] = [
    "Thị", "Ngọc", "Thu", "Thanh", "Kim", "Mỹ", "Hồng", "Thùy", "Phương", "Thị",
];

/// Given names by sex.
pub const GIVEN_MALE: [&str; 40] = [
    "An", "Anh", "Bảo", "Bình", "Cường", "Dũng", "Duy", "Đạt", "Đông", "Giang", "Hải", "Hiếu",
    "Hòa", "Hoàng", "Hùng", "Huy", "Khang", "Khánh", "Kiên", "Lâm", "Long", "Luân", "Minh", "Nam",
    "Nghĩa", "Phong", "Phúc", "Quân", "Quang", "Sơn", "Tài", "Thắng", "Thành", "Thịnh", "Toàn",
    "Trung", "Tú", "Tuấn", "Việt", "Vinh",
];
/// Given names by sex.
pub const GIVEN_FEMALE: [&str; 40] = [
    "An", "Anh", "Bích", "Chi", "Dung", "Diệp", "Giang", "Hà", "Hạnh", "Hằng", "Hiền", "Hoa",
    "Hồng", "Huệ", "Hương", "Lan", "Liên", "Linh", "Loan", "Mai", "My", "Nga", "Ngân", "Ngọc",
    "Nhung", "Oanh", "Phương", "Quyên", "Quỳnh", "Tâm", "Thảo", "Thoa", "Thu", "Thủy", "Trang",
    "Trinh", "Uyên", "Vân", "Xuân", "Yến",
];

/// Syllables that commune names are made of.
pub const PLACE_SYLLABLES: [&str; 32] = [
    "An", "Bình", "Phú", "Tân", "Hòa", "Long", "Thạnh", "Đông", "Tây", "Nam", "Bắc", "Hưng",
    "Phước", "Mỹ", "Thành", "Vĩnh", "Xuân", "Hiệp", "Lộc", "Quang", "Trung", "Sơn", "Hải", "Thuận",
    "Lợi", "Khánh", "Hội", "Đức", "Minh", "Thái", "Phong", "Lạc",
];

/// Drive names that recur every year.
pub const CAMPAIGNS: [&str; 6] = [
    "Lễ hội Xuân hồng",
    "Ngày Toàn dân hiến máu tình nguyện 7/4",
    "Ngày Quốc tế người hiến máu 14/6",
    "Những giọt máu hồng hè",
    "Hành trình đỏ",
    "Chủ nhật Đỏ",
];

/// Where events are held.
pub const SITES: [&str; 6] = [
    "Nhà văn hóa",
    "Trường THPT",
    "Trung tâm Y tế",
    "Hội trường UBND",
    "Trường Đại học",
    "Khu công nghiệp",
];

/// Why screening deferred a donor, with the days until they may give again (short ones only,
/// so a deferral never reaches into the next planned visit).
pub const DEFERRALS: [(&str, i64); 4] = [
    ("Cảm cúm", 7),
    ("Huyết áp thấp", 7),
    ("Huyết sắc tố thấp", 28),
    ("Mới tiêm vắc-xin", 28),
];
