"""Word lists and rates of the sample shop (internal data, no code)."""

from __future__ import annotations

import numpy as np

# Category: (brands, products, sizes or variants).
CATALOGUE: dict[str, tuple[str, str, str]] = {
    "Groceries": (
        "Golden Harvest|Farmhouse|Organic|Daily Choice|Nonna's|Green Valley|Sunrise|Hearty",
        "Spaghetti|Tomato Passata|Basmati Rice|Olive Oil|Rolled Oats|Peanut Butter|Honey"
        "|Chickpeas|Wholemeal Bread|Dark Chocolate|Breakfast Cereal|Sea Salt",
        "250 g|500 g|1 kg|Value Pack",
    ),
    "Tea & Coffee": (
        "Highland|Organic|Morning Ritual|Bean Bros|Smokey Peak|Golden Cup|Kyoto|Velvet",
        "Green Tea|Earl Grey Tea|Chamomile Tea|Breakfast Tea|Espresso Beans|Ground Coffee"
        "|Decaf Coffee|Coffee Pods|Matcha Powder|Hot Chocolate|Coffee Filters|Oat Milk",
        "50 g|250 g|500 g|Bulk Pack",
    ),
    "Home": (
        "Sparkle|Fresh Linen|EcoHome|Crystal|Citrus Zing|Homely|Pure|Everyday",
        "Dishwasher Tablets|Laundry Detergent|Fabric Softener|Kitchen Roll|Toilet Paper|Bin Bags"
        "|Sponges|Glass Cleaner|Scented Candle|Bath Towel|Bed Sheets|Storage Box",
        "Single|Twin Pack|Value Pack|Jumbo",
    ),
    "Beauty": (
        "Velvet Rose|Pure Glow|Aqua|Botanica|Silk & Honey|Derma|Nordic|Oasis",
        "Shampoo|Conditioner|Face Cream|Body Lotion|Lip Balm|Shower Gel|Sunscreen SPF 30"
        "|Hand Soap|Face Mask|Eye Serum|Toothpaste|Deodorant",
        "50 ml|200 ml|400 ml|Travel Size",
    ),
    "Pets": (
        "Happy Paws|Wild Meadow|Tail Waggers|Purrfect|Field & Farm|Vital|Nature's Own|Loyal",
        "Dry Dog Food|Dog Treats|Wet Cat Food|Cat Litter|Cat Treats|Chew Toy|Dog Shampoo"
        "|Flea Drops|Bird Seed|Fish Flakes|Poop Bags|Scratching Post",
        "Small|1 kg|3 kg|Multipack",
    ),
    "Baby": (
        "Little Star|Tiny Steps|Cosy Cub|Sweet Pea|Bubbles|Organic|Gentle|Snuggle",
        "Nappies|Baby Wipes|Baby Formula|Teething Gel|Baby Shampoo|Muslin Cloths|Feeding Bottles"
        "|Baby Food Pouches|Nappy Cream|Sleepsuit|Dummy|Bath Thermometer",
        "Small|Medium|Large|Multipack",
    ),
    "Books": (
        "Illustrated|Pocket|Bestselling|Classic|Complete|Beginner's|Essential|Little",
        "Cookbook|Crime Novel|Fantasy Saga|Travel Guide|Gardening Handbook|Picture Book"
        "|Science Fiction Novel|History of Europe|Poetry Collection|Puzzle Book"
        "|Bread Baking Guide|Dog Training Guide",
        "Paperback|Hardcover|Box Set|Large Print",
    ),
    "Electronics Accessories": (
        "Voltix|Nexa|Pixel|Ampere|Zenith|Orbit|Lumen|Byte",
        "Printer|Ink Cartridge|USB-C Cable|Phone Case|Screen Protector|Wireless Mouse|Mouse Pad"
        "|Power Bank|Headphones|AA Batteries|Wall Charger|HDMI Cable",
        "Black|White|Silver|2-Pack",
    ),
    "Toys": (
        "Rainbow|Wonder|Jolly|Tinker|Brainy|Galaxy|Cuddle|Mighty",
        "Building Blocks|Block Storage Tub|Jigsaw Puzzle|Teddy Bear|Toy Train|Train Track Set"
        "|Doll's House|Board Game|Crayons|Colouring Book|Remote Control Car|Kite",
        "Mini|Classic|Deluxe|Mega",
    ),
    "Stationery": (
        "Paperly|Inkwell|Scribe|Atlas|Notable|Quill|Office Pro|Linen",
        "Notebook|Gel Pens|Pencils|Eraser|Printer Paper|Sticky Notes|Highlighters|Ring Binder"
        "|Sheet Protectors|Envelopes|Stapler|Staples",
        "A5|A4|Pack of 10|Pack of 50",
    ),
    "Sports": (
        "Apex|Stride|Summit|Velocity|Core|Trail|Pulse|Titan",
        "Tennis Racket|Tennis Balls|Yoga Mat|Yoga Block|Running Socks|Water Bottle|Dumbbells"
        "|Resistance Bands|Football|Shin Guards|Protein Bars|Cycling Gloves",
        "Lite|Classic|Pro|Elite",
    ),
    "Garden": (
        "Green Thumb|Meadowbrook|Bloom|Terra|Evergreen|Hedgerow|Sunny|Oakfield",
        "Lawn Mower|Lawn Feed|Grass Seed|Compost|Tomato Seeds|Plant Pots|Garden Hose"
        "|Hose Connector|Pruning Shears|Gardening Gloves|Bird Feeder|Solar Lights",
        "Small|Medium|Large|Pro",
    ),
}
# Per category, in the order above: demand (falls off like a power law), the share of products
# bought again on later dates (staples), and the mean extra quantity per purchase.
DEMAND = np.array([1.0, 0.55, 0.4, 0.3, 0.25, 0.2, 0.17, 0.15, 0.13, 0.11, 0.1, 0.09])
STAPLE_RATE = np.array([0.6, 0.55, 0.4, 0.35, 0.6, 0.6, 0.02, 0.1, 0.05, 0.25, 0.1, 0.1])
EXTRA_QUANTITY = np.array([0.5, 0.4, 0.3, 0.2, 0.4, 0.4, 0.0, 0.1, 0.0, 0.2, 0.1, 0.1])
# Bought together: a buyer of the first often buys the second too (same brand if there is one).
COMPLEMENTS = (
    "Printer>Ink Cartridge|Printer>Printer Paper|Dry Dog Food>Dog Treats|Wet Cat Food>Cat Litter"
    "|Ground Coffee>Coffee Filters|Espresso Beans>Oat Milk|Nappies>Baby Wipes"
    "|Baby Formula>Feeding Bottles|Shampoo>Conditioner|Tennis Racket>Tennis Balls"
    "|Yoga Mat>Yoga Block|Football>Shin Guards|Phone Case>Screen Protector"
    "|Wireless Mouse>Mouse Pad|Remote Control Car>AA Batteries|Building Blocks>Block Storage Tub"
    "|Toy Train>Train Track Set|Lawn Mower>Lawn Feed|Garden Hose>Hose Connector"
    "|Crayons>Colouring Book|Stapler>Staples|Ring Binder>Sheet Protectors"
    "|Spaghetti>Tomato Passata|Laundry Detergent>Fabric Softener|Tomato Seeds>Plant Pots"
)
