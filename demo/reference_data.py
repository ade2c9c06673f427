"""Seed data of the demo distributor (Voltline Distribution): catalog, warehouses, stock and customers.

Plain data, reviewed like code. Prices are Decimal strings; every customer ships to a jurisdiction of the
OMS's rate table (`oms/tax/data`), and `CHANNEL_TAX` says what the demo shop's tax service (Shopify Tax)
charges at each customer's address: the state line and the local lines, and where it taxes shipping. A few
SKUs are deliberately scarce so that allocation has to split orders across warehouses or put them on hold.
"""

from __future__ import annotations

import re
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from oms.domain.order import Address
from oms.money import Money

SELLER_NAME = "Voltline Distribution Inc."
SELLER_ADDRESS_LINES = ("200 Meadowlands Pkwy", "Secaucus, NJ 07094", "United States")
SELLER_TAX_ID = "EIN 84-1234567"
SHOP_DOMAIN = "voltline-distribution.myshopify.com"
SHOPIFY_API_VERSION = "2025-10"
CURRENCY = "USD"


class Product(BaseModel):
    model_config = ConfigDict(frozen=True)

    sku: str
    name: str
    category: str
    unit_price: Money
    currency: str = CURRENCY
    weight_grams: int = Field(gt=0)


class Warehouse(BaseModel):
    model_config = ConfigDict(frozen=True)

    warehouse_id: str
    name: str
    region: str
    """The region it serves first (a US state code)."""
    priority: int
    """Lower is preferred when several warehouses can ship an order."""


class StockLevel(BaseModel):
    model_config = ConfigDict(frozen=True)

    sku: str
    warehouse_id: str
    on_hand: int = Field(ge=0)
    reorder_point: int = Field(default=0, ge=0)
    """Replenish when available stock falls to this level (for the inventory-management integration)."""


class CustomerTier(StrEnum):
    RETAIL = "RETAIL"
    CORPORATE = "CORPORATE"


class DemoCustomer(BaseModel):
    model_config = ConfigDict(frozen=True)

    shopify_id: int
    first_name: str
    last_name: str
    company: str | None
    email: str
    phone: str
    tier: CustomerTier
    payment_terms_days: int
    address: Address

    @property
    def customer_id(self) -> str:
        """The OMS customer id, as the Shopify adapter derives it."""
        return f"shopify-{self.shopify_id}"

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


def _p(sku: str, name: str, category: str, price: str, grams: int) -> Product:
    return Product(sku=sku, name=name, category=category, unit_price=Decimal(price), weight_grams=grams)


CATALOG: tuple[Product, ...] = (
    _p("ELC-USB-C-1M", "USB-C to USB-C Cable 1 m", "cables", "8.99", 45),
    _p("ELC-USB-C-2M", "USB-C to USB-C Cable 2 m", "cables", "11.49", 70),
    _p("ELC-USB-A-C-1M", "USB-A to USB-C Cable 1 m", "cables", "6.99", 40),
    _p("ELC-LTG-1M", "USB-C to Lightning Cable 1 m", "cables", "12.99", 40),
    _p("ELC-HDMI-1M", "HDMI 2.1 Cable 1 m", "cables", "10.90", 80),
    _p("ELC-HDMI-2M", "HDMI 2.1 Cable 2 m", "cables", "14.50", 120),
    _p("ELC-DP-2M", "DisplayPort 1.4 Cable 2 m", "cables", "13.75", 115),
    _p("ELC-CAT6-3M", "Cat 6 Patch Cable 3 m", "networking", "4.25", 90),
    _p("ELC-CAT6-10M", "Cat 6 Patch Cable 10 m", "networking", "9.80", 260),
    _p("ELC-CAT6A-50M", "Cat 6A Bulk Cable 50 m", "networking", "64.00", 2400),
    _p("ELC-SW-8P-GB", "8-Port Gigabit Switch", "networking", "29.95", 380),
    _p("ELC-SW-24P-POE", "24-Port PoE+ Managed Switch", "networking", "389.00", 3900),
    _p("ELC-AP-WIFI6", "Wi-Fi 6 Ceiling Access Point", "networking", "149.00", 620),
    _p("ELC-RTR-5G", "5G Business Router", "networking", "429.00", 1100),
    _p("ELC-PSU-20W", "20 W USB-C Power Adapter", "power", "14.95", 60),
    _p("ELC-PSU-65W", "65 W USB-C GaN Power Supply", "power", "39.95", 130),
    _p("ELC-PSU-100W", "100 W USB-C GaN Power Supply", "power", "59.00", 210),
    _p("ELC-PB-20K", "Power Bank 20,000 mAh", "power", "34.50", 350),
    _p("ELC-UPS-1500", "UPS 1500 VA Line-Interactive", "power", "219.00", 11200),
    _p("ELC-SURGE-8", "8-Outlet Surge Protector", "power", "24.99", 900),
    _p("ELC-HUB-7P", "7-Port USB 3.2 Hub", "accessories", "27.90", 210),
    _p("ELC-DOCK-TB4", "Thunderbolt 4 Docking Station", "accessories", "249.00", 650),
    _p("ELC-ADP-HDMI-C", "USB-C to HDMI Adapter", "accessories", "16.49", 35),
    _p("ELC-KB-WL", "Wireless Keyboard", "peripherals", "39.00", 560),
    _p("ELC-MS-WL", "Wireless Mouse", "peripherals", "19.50", 95),
    _p("ELC-HS-USB", "USB Headset with Microphone", "peripherals", "44.00", 230),
    _p("ELC-CAM-4K", "4K Conference Webcam", "peripherals", "129.00", 310),
    _p("ELC-MON-27-4K", "27-inch 4K Monitor", "displays", "329.00", 6300),
    _p("ELC-MON-24-FHD", "24-inch Full HD Monitor", "displays", "139.00", 3900),
    _p("ELC-MNT-ARM-2", "Dual Monitor Arm", "displays", "89.00", 5200),
    _p("ELC-SSD-1TB", "1 TB NVMe SSD", "storage", "79.90", 30),
    _p("ELC-SSD-2TB", "2 TB NVMe SSD", "storage", "139.90", 30),
    _p("ELC-HDD-8TB", "8 TB NAS Hard Drive", "storage", "189.00", 700),
    _p("ELC-SD-128", "128 GB microSD Card", "storage", "17.25", 5),
    _p("ELC-USBK-64", "64 GB USB Flash Drive", "storage", "8.40", 10),
    _p("ELC-RPI-5-8G", "Raspberry Pi 5 8 GB", "components", "80.00", 50),
    _p("ELC-MCU-ESP32", "ESP32 Development Board", "components", "9.95", 12),
    _p("ELC-SOLDER-60W", "60 W Soldering Station", "tools", "74.00", 1500),
    _p("ELC-MM-TRMS", "True-RMS Digital Multimeter", "tools", "59.90", 420),
    _p("ELC-GPU-RTX-PRO", "Workstation GPU 16 GB", "components", "1249.00", 1400),
)

PRODUCTS: dict[str, Product] = {p.sku: p for p in CATALOG}

# What a unit costs the distributor, as a share of its list price by category (gross margin per order,
# customer and SKU in the finance export; issue 13): cables and accessories carry the fattest margins.
COST_SHARE_BY_CATEGORY: dict[str, Decimal] = {
    "cables": Decimal("0.45"),
    "accessories": Decimal("0.50"),
    "networking": Decimal("0.68"),
    "power": Decimal("0.62"),
    "peripherals": Decimal("0.66"),
    "storage": Decimal("0.78"),
    "displays": Decimal("0.80"),
    "components": Decimal("0.84"),
    "tools": Decimal("0.55"),
}


def cost_price(product: Product) -> Decimal:
    return (product.unit_price * COST_SHARE_BY_CATEGORY[product.category]).quantize(Decimal("0.01"))


WAREHOUSES: tuple[Warehouse, ...] = (
    Warehouse(warehouse_id="WH-NJ", name="Secaucus DC", region="NJ", priority=1),
    Warehouse(warehouse_id="WH-TX", name="Dallas DC", region="TX", priority=2),
    Warehouse(warehouse_id="WH-NV", name="Reno DC", region="NV", priority=3),
)

# Deliberately scarce: a few units in total, so a busy day runs them out or splits them across warehouses.
SCARCE_SKUS: frozenset[str] = frozenset({"ELC-GPU-RTX-PRO", "ELC-RPI-5-8G", "ELC-DOCK-TB4", "ELC-RTR-5G"})
_SCARCE_STOCK: dict[str, tuple[int, int, int]] = {
    "ELC-GPU-RTX-PRO": (2, 0, 1),
    "ELC-RPI-5-8G": (6, 3, 0),
    "ELC-DOCK-TB4": (4, 0, 3),
    "ELC-RTR-5G": (0, 2, 0),
}


def _stock() -> tuple[StockLevel, ...]:
    """Deterministic on-hand quantities: plenty of cheap items, fewer expensive ones, scarce SKUs scarce."""
    levels: list[StockLevel] = []
    for index, product in enumerate(CATALOG):
        if product.sku in _SCARCE_STOCK:
            quantities = _SCARCE_STOCK[product.sku]
        else:
            base = 2400 if product.unit_price < 20 else 600 if product.unit_price < 100 else 120
            # Vary by warehouse: the east coast DC holds most, the others less (and one holds none of some).
            quantities = (base, base // 2 + (index % 7) * 10, 0 if index % 5 == 0 else base // 3)
        levels += [
            StockLevel(sku=product.sku, warehouse_id=w.warehouse_id, on_hand=q, reorder_point=max(q // 10, 1))
            for w, q in zip(WAREHOUSES, quantities, strict=True)
        ]
    return tuple(levels)


STOCK: tuple[StockLevel, ...] = _stock()


def _c(
    shopify_id: int,
    first: str,
    last: str,
    company: str | None,
    tier: CustomerTier,
    street: str,
    city: str,
    region: str,
    postal: str,
    country: str = "US",
) -> DemoCustomer:
    domain = re.sub(r"[^a-z0-9]", "", (company or f"{last}family").lower())[:24]
    local = re.sub(r"[^a-z0-9.]", "", f"{first}.{last}".lower())
    return DemoCustomer(
        shopify_id=shopify_id,
        first_name=first,
        last_name=last,
        company=company,
        email=f"{local}@{domain}.example",
        phone=f"+1555{shopify_id % 10_000_000:07d}",
        tier=tier,
        payment_terms_days=30 if tier is CustomerTier.CORPORATE else 0,
        address=Address(
            name=f"{first} {last}",
            line1=street,
            city=city,
            region=region,
            postal_code=postal,
            country=country,
        ),
    )


R, C = CustomerTier.RETAIL, CustomerTier.CORPORATE

CUSTOMERS: tuple[DemoCustomer, ...] = (
    _c(7400000000001, "Maya", "Okafor", None, R, "88 Elm St", "Oakland", "CA", "94607"),
    _c(
        7400000000002,
        "Luis",
        "Herrera",
        "Herrera AV Services",
        C,
        "4120 Wilshire Blvd",
        "Los Angeles",
        "CA",
        "90010",
    ),
    _c(
        7400000000003,
        "Dana",
        "Whitfield",
        "Bayside Robotics LLC",
        C,
        "1450 Bayshore Blvd",
        "Burlingame",
        "CA",
        "94010",
    ),
    _c(7400000000004, "Priya", "Raman", None, R, "312 W 84th St", "New York", "NY", "10024"),
    _c(
        7400000000005,
        "Samuel",
        "Greene",
        "Greene & Partners LLP",
        C,
        "55 Water St",
        "New York",
        "NY",
        "10041",
    ),
    _c(7400000000006, "Aisha", "Bello", None, R, "17 Lark St", "Albany", "NY", "12210"),
    _c(
        7400000000007,
        "Tom",
        "Kowalski",
        "Lone Star IT Solutions",
        C,
        "900 Congress Ave",
        "Austin",
        "TX",
        "78701",
    ),
    _c(7400000000008, "Jenny", "Tran", None, R, "2210 Westheimer Rd", "Houston", "TX", "77098"),
    _c(7400000000009, "Marcus", "Reed", "Reed Logistics Inc.", C, "3100 Main St", "Dallas", "TX", "75226"),
    _c(7400000000010, "Hannah", "Lindqvist", "Cascade Labs", C, "1201 3rd Ave", "Seattle", "WA", "98101"),
    _c(7400000000011, "Kenji", "Sato", None, R, "415 E Pike St", "Seattle", "WA", "98122"),
    _c(
        7400000000012,
        "Olivia",
        "Brandt",
        "Prairie Schools District 7",
        C,
        "600 S Michigan Ave",
        "Chicago",
        "IL",
        "60605",
    ),
    _c(7400000000013, "Noah", "Fischer", None, R, "1840 N Damen Ave", "Chicago", "IL", "60647"),
    _c(7400000000014, "Grace", "Alvarez", "Sunshine Clinics", C, "100 SE 2nd St", "Miami", "FL", "33131"),
    _c(7400000000015, "Ethan", "Cole", None, R, "725 Orange Ave", "Orlando", "FL", "32801"),
    _c(
        7400000000016,
        "Fatima",
        "Haddad",
        "Garden State Dental",
        C,
        "1 Gateway Center",
        "Newark",
        "NJ",
        "07102",
    ),
    _c(7400000000017, "Ryan", "O'Neill", None, R, "45 Bloomfield Ave", "Montclair", "NJ", "07042"),
    _c(7400000000018, "Chloe", "Martin", "Harbor Point Media", C, "160 Federal St", "Boston", "MA", "02110"),
    _c(7400000000019, "Daniel", "Weiss", None, R, "22 Elm St", "Cambridge", "MA", "02139"),
    _c(
        7400000000020,
        "Sofia",
        "Rossi",
        "Willamette Design Co",
        C,
        "1120 NW Couch St",
        "Portland",
        "OR",
        "97209",
    ),
    _c(7400000000021, "Ben", "Carter", None, R, "3601 SE Division St", "Portland", "OR", "97202"),
    _c(
        7400000000022,
        "Laura",
        "Nguyen",
        "First State Analytics",
        C,
        "1201 N Market St",
        "Wilmington",
        "DE",
        "19801",
    ),
    _c(7400000000023, "Omar", "Siddiqui", None, R, "480 Queen St W", "Toronto", "ON", "M5V 2A9", "CA"),
    _c(
        7400000000024,
        "Emily",
        "Tremblay",
        "Maple Leaf Robotics",
        C,
        "200 Bay St",
        "Toronto",
        "ON",
        "M5J 2J2",
        "CA",
    ),
    _c(
        7400000000025,
        "Jack",
        "Wilson",
        "Pacific Rim Marine",
        C,
        "999 Canada Pl",
        "Vancouver",
        "BC",
        "V6C 3E1",
        "CA",
    ),
    _c(7400000000026, "Zoe", "Campbell", None, R, "2155 W 4th Ave", "Vancouver", "BC", "V6K 1N7", "CA"),
    _c(
        7400000000027,
        "Isaac",
        "Park",
        "Golden Gate Makerspace",
        C,
        "2 Marina Blvd",
        "San Francisco",
        "CA",
        "94123",
    ),
    _c(7400000000028, "Mia", "Schultz", None, R, "901 E 6th St", "Austin", "TX", "78702"),
    _c(
        7400000000029,
        "Leo",
        "Dubois",
        "Empire Broadcast Group",
        C,
        "1633 Broadway",
        "New York",
        "NY",
        "10019",
    ),
    _c(7400000000030, "Ava", "Johnson", None, R, "1010 S Harbor Blvd", "Anaheim", "CA", "92805"),
)

CUSTOMERS_BY_ID: dict[str, DemoCustomer] = {c.customer_id: c for c in CUSTOMERS}


# --- what the demo shop's tax service charges (the channel is the calculator of record) -----------------

_D = Decimal
CHANNEL_TAX: dict[tuple[str, str | None, str | None], tuple[tuple[str, Decimal], ...]] = {
    ("US", "CA", "Oakland"): (("CA State Tax", _D("0.0725")), ("Alameda County District Tax", _D("0.03"))),
    ("US", "CA", "Los Angeles"): (
        ("CA State Tax", _D("0.0725")),
        ("Los Angeles County District Tax", _D("0.025")),
    ),
    ("US", "CA", "Burlingame"): (
        ("CA State Tax", _D("0.0725")),
        ("San Mateo County District Tax", _D("0.02125")),
    ),
    ("US", "CA", "San Francisco"): (
        ("CA State Tax", _D("0.0725")),
        ("San Francisco County District Tax", _D("0.01375")),
    ),
    ("US", "CA", "Anaheim"): (("CA State Tax", _D("0.0725")), ("Orange County District Tax", _D("0.005"))),
    ("US", "NY", "New York"): (
        ("NY State Tax", _D("0.04")),
        ("New York City Tax", _D("0.045")),
        ("Metropolitan Commuter Transportation District", _D("0.00375")),
    ),
    ("US", "NY", "Albany"): (("NY State Tax", _D("0.04")), ("Albany County Tax", _D("0.04"))),
    ("US", "TX", "Austin"): (
        ("TX State Tax", _D("0.0625")),
        ("Austin City Tax", _D("0.01")),
        ("Austin MTA Transit District", _D("0.01")),
    ),
    ("US", "TX", "Houston"): (
        ("TX State Tax", _D("0.0625")),
        ("Houston City Tax", _D("0.01")),
        ("Houston MTA Transit District", _D("0.01")),
    ),
    ("US", "TX", "Dallas"): (
        ("TX State Tax", _D("0.0625")),
        ("Dallas City Tax", _D("0.01")),
        ("Dallas Area Rapid Transit District", _D("0.01")),
    ),
    ("US", "WA", "Seattle"): (("WA State Tax", _D("0.065")), ("Seattle City Tax", _D("0.0385"))),
    ("US", "IL", "Chicago"): (
        ("IL State Tax", _D("0.0625")),
        ("Cook County Tax", _D("0.0175")),
        ("Chicago City Tax", _D("0.0125")),
        ("RTA Special District Tax", _D("0.01")),
    ),
    ("US", "FL", "Miami"): (("FL State Tax", _D("0.06")), ("Miami-Dade County Surtax", _D("0.01"))),
    ("US", "FL", "Orlando"): (("FL State Tax", _D("0.06")), ("Orange County Surtax", _D("0.005"))),
    ("US", "NJ", None): (("NJ State Tax", _D("0.06625")),),
    ("US", "MA", None): (("MA State Tax", _D("0.0625")),),
    ("US", "OR", None): (),
    ("US", "DE", None): (),
    ("CA", "ON", None): (("HST", _D("0.13")),),
    ("CA", "BC", None): (("GST", _D("0.05")), ("BC PST", _D("0.07"))),
}
CHANNEL_TAXES_SHIPPING: frozenset[tuple[str, str]] = frozenset(
    {("US", "NY"), ("US", "TX"), ("US", "WA"), ("US", "NJ"), ("CA", "ON"), ("CA", "BC")}
)
"""Where the demo shop's tax service taxes shipping."""


def channel_tax_lines(address: Address) -> tuple[tuple[str, Decimal], ...]:
    """The tax lines (title, rate) the demo shop charges at `address`."""
    key = (address.country, address.region, address.city)
    if key in CHANNEL_TAX:
        return CHANNEL_TAX[key]
    return CHANNEL_TAX[(address.country, address.region, None)]


def channel_taxes_shipping(address: Address) -> bool:
    return (address.country, address.region or "") in CHANNEL_TAXES_SHIPPING
