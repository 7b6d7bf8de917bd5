"""A labelled set for PII detection (memories.pii): memory-like sentences and the kinds each holds.

Positives of every kind in realistic sentences, and near-misses that look like them: order and
invoice numbers, dates, times, prices, version strings, zip codes, 16-digit numbers that fail
the Luhn check, numbers that fail their scheme's checksum. The identifiers are test values
(cards from the networks' test ranges, IBANs from the registry's examples, national numbers
built with each scheme's checksum), not anyone's.

Each case is (text, kinds); an empty tuple means "no personal data of a detected kind".
"""

from __future__ import annotations

PHONE = [
    ("Call me at (415) 555-0132 after six", ("phone",)),
    ("Her mobile is +1 415 555 0199", ("phone",)),
    ("The London office number is +44 20 7946 0958", ("phone",)),
    ("Reach the front desk on 020 7946 0018 during office hours", ("phone",)),
    ("My German number is +49 30 90182000", ("phone",)),
    ("Text him on 06 12 34 56 78, he rarely checks email", ("phone",)),
    ("Her number in Paris is +33 1 42 68 53 00", ("phone",)),
    ("Contact in Bangalore: +91 98765 43210", ("phone",)),
    ("Prefers to be called at 415.555.0147 in the evening", ("phone",)),
    ("Office line (604) 555-0187, ask for Dana", ("phone",)),
    ("Brazil contact: +55 11 91234-5678", ("phone",)),
    ("Emergency contact is her brother at 212-555-0168", ("phone",)),
    ("Tel. +972 3 555 1234 for the Tel Aviv team", ("phone",)),
    ("Whatsapp +1 (647) 555-0123 works best", ("phone",)),
]

EMAIL = [
    ("My email is maria.lopez@example.com", ("email",)),
    ("Send the invoice to billing@acme-corp.co.uk please", ("email",)),
    ("Work address: j.smith+memos@example.org", ("email",)),
    ("Prefers contact by email at alex_92@mail.example.net", ("email",)),
    ("Her old address kim.o'neil@example.ie bounces now", ("email",)),
    ("CC the manager, priya.raman@example.in, on every ticket", ("email",)),
    ("Login is tomas@example.de", ("email",)),
    ("Reply to support-team@help.example.com with the logs", ("email",)),
    ("The account was registered to ana.souza@example.com.br", ("email",)),
    ("Use hello@example.io for partnership questions", ("email",)),
    ("Forward receipts to receipts.2024@example.com", ("email",)),
    ("Contact: Lee <lee@example.co>", ("email",)),
]

CARD = [
    ("Pays with the Visa card 4111 1111 1111 1111", ("card",)),
    ("Card on file: 5555 5555 5555 4444, expires 09/27", ("card",)),
    ("Used the Amex 3782 822463 10005 for the hotel", ("card",)),
    ("Discover card 6011-1111-1111-1117 was declined", ("card",)),
    ("Billing card number 4012888888881881", ("card",)),
    ("Her Mastercard is 5105 1051 0510 5100", ("card",)),
    ("Charged 4242 4242 4242 4242 for the annual plan", ("card",)),
    ("JCB card 3530 1113 3330 0000 registered for travel", ("card",)),
    ("Replace the card 4000 0566 5566 5556 that expired in May", ("card",)),
    ("Backup payment: 2223 0031 2200 3222", ("card",)),
]

IBAN = [
    ("Pay rent to IBAN DE89 3704 0044 0532 0130 00", ("iban",)),
    ("Her UK account is GB29 NWBK 6016 1331 9268 19", ("iban",)),
    ("Salary goes to FR14 2004 1010 0505 0001 3M02 606", ("iban",)),
    ("Refund to ES91 2100 0418 4502 0005 1332 please", ("iban",)),
    ("Dutch account NL91ABNA0417164300 for invoices", ("iban",)),
    ("Transfer the deposit to IT60 X054 2811 1010 0000 0123 456", ("iban",)),
    ("Belgian IBAN BE68 5390 0754 7034", ("iban",)),
    ("Swiss account CH93 0076 2011 6238 5295 7 for the chalet", ("iban",)),
    ("Direct debit from AT61 1904 3002 3457 3201", ("iban",)),
    ("Supplier bank details: PL61 1090 1014 0000 0712 1981 2874", ("iban",)),
]

IP = [
    ("The printer is at 192.168.10.4 on the office network", ("ip",)),
    ("Blocked logins from 203.0.113.57 last night", ("ip",)),
    ("VPN gateway address 10.8.0.1", ("ip",)),
    ("His home IP is 198.51.100.23", ("ip",)),
    ("The server answers on 2001:db8:85a3::8a2e:370:7334", ("ip",)),
    ("Whitelist 172.16.254.1 in the firewall", ("ip",)),
    ("IPv6 of the NAS: fe80::1ff:fe23:4567:890a", ("ip",)),
    ("DNS set to 8.8.8.8 and 1.1.1.1", ("ip",)),
    ("Her laptop got 192.0.2.146 from the hotel wifi", ("ip",)),
    ("Staging box lives at 100.64.12.9", ("ip",)),
]

US_SSN = [
    ("My SSN is 536-90-4399", ("us_ssn",)),
    ("Social security number 287-65-4321 on the form", ("us_ssn",)),
    ("SSN: 412 78 2390", ("us_ssn",)),
    ("His social security number is 501-22-7765", ("us_ssn",)),
    ("Tax form lists SSN 371-84-2256", ("us_ssn",)),
]

US_ITIN = [
    ("Her ITIN is 912-74-5678", ("us_itin",)),
    ("Taxpayer identification number ITIN 923 88 1234", ("us_itin",)),
    ("Files taxes with ITIN 970-81-4421", ("us_itin",)),
    ("ITIN 944-90-1230 was issued in March", ("us_itin",)),
    ("The ITIN on the W-7 is 955-70-3388", ("us_itin",)),
]

US_PASSPORT = [
    ("US passport number A12345678, renew before June", ("us_passport",)),
    ("Passport: C03005988", ("us_passport",)),
    ("His US passport is 340020013", ("us_passport",)),
    ("Travel document (passport) number E21874319", ("us_passport",)),
    ("Renewed passport 561838217 arrived", ("us_passport",)),
]

UK_NINO = [
    ("My national insurance number is AB 12 34 56 C", ("uk_nino",)),
    ("NI number: JG103773A", ("uk_nino",)),
    ("NINO CE 12 34 56 D on the payslip", ("uk_nino",)),
    ("Her NI number is PN 48 92 17 B", ("uk_nino",)),
    ("Payroll needs nino WL 34 56 78 A", ("uk_nino",)),
]

UK_NHS = [
    ("Her NHS number is 943 476 5919", ("uk_nhs",)),
    ("NHS number 083 016 6130 for the GP", ("uk_nhs",)),
    ("His nhs no. is 1860913903", ("uk_nhs",)),
    ("NHS 996 030 8243, registered in Leeds", ("uk_nhs",)),
    ("The referral letter quotes NHS number 628-194-8211", ("uk_nhs",)),
]

ES_NIF = [
    ("Mi DNI es 12345678Z", ("es_nif",)),
    ("NIF 49530762D for the invoice", ("es_nif",)),
    ("Her Spanish DNI is 41234045J", ("es_nif",)),
    ("DNI: 34343251L", ("es_nif",)),
    ("The contract names NIF 25127884Q", ("es_nif",)),
]

ES_NIE = [
    ("His NIE is X9737230L", ("es_nie",)),
    ("NIE Y8911335E for the residence permit", ("es_nie",)),
    ("Foreigner id NIE Z7630188N", ("es_nie",)),
    ("Her NIE: Y1328106P", ("es_nie",)),
    ("Registered with NIE X8688807M in Valencia", ("es_nie",)),
]

IT_FISCAL_CODE = [
    ("Codice fiscale RSSMRA85T10A562S", ("it_fiscal_code",)),
    ("Her Italian tax code is BNCGNN72E44F205R", ("it_fiscal_code",)),
    ("Fiscal code VRDLCU90A01H501I on the lease", ("it_fiscal_code",)),
    ("CF: FRRGLI68P15L219E", ("it_fiscal_code",)),
    ("His codice fiscale is CLMSFN81M52D612U", ("it_fiscal_code",)),
]

PL_PESEL = [
    ("PESEL 76032552763", ("pl_pesel",)),
    ("Her PESEL number is 52110389557", ("pl_pesel",)),
    ("pesel: 94062079713 on the clinic form", ("pl_pesel",)),
    ("Polish id (PESEL) 55051610498", ("pl_pesel",)),
    ("PESEL 93081065071 for the prescription", ("pl_pesel",)),
]

IN_AADHAAR = [
    ("Aadhaar 6236 6712 7680", ("in_aadhaar",)),
    ("My aadhaar number is 812806192057", ("in_aadhaar",)),
    ("Aadhaar: 4233-0792-4404 for the KYC", ("in_aadhaar",)),
    ("Her UIDAI aadhaar 4685 9952 8907", ("in_aadhaar",)),
    ("aadhaar no 986666176031 linked to the account", ("in_aadhaar",)),
]

IN_PAN = [
    ("My PAN is AFZPK7190K", ("in_pan",)),
    ("PAN card BNZPM2501F for the tax filing", ("in_pan",)),
    ("Permanent account number ABCPE1234F", ("in_pan",)),
    ("His PAN: CQXPS4421L", ("in_pan",)),
    ("PAN AAKPL9087M on the invoice", ("in_pan",)),
]

SG_NRIC = [
    ("NRIC S1234567D for the clinic", ("sg_nric",)),
    ("Her NRIC is T0123456F", ("sg_nric",)),
    ("FIN G1234567X on the work pass", ("sg_nric",)),
    ("NRIC: S8234567B", ("sg_nric",)),
    ("His FIN number is F2345678N", ("sg_nric",)),
]

AU_TFN = [
    ("My tax file number is 123 456 782", ("au_tfn",)),
    ("TFN 472 803 852 for payroll", ("au_tfn",)),
    ("Her TFN: 140141931", ("au_tfn",)),
    ("tax file number 748 477 718", ("au_tfn",)),
    ("TFN is 221 387 837, keep it private", ("au_tfn",)),
]

AU_ABN = [
    ("Our ABN is 51 824 753 556", ("au_abn",)),
    ("ABN 53 004 085 616 on the quote", ("au_abn",)),
    ("Supplier ABN: 31023281556", ("au_abn",)),
    ("Australian business number 14 281 152 896", ("au_abn",)),
    ("Invoice from ABN 20 052 172 123", ("au_abn",)),
]

CA_SIN = [
    ("My SIN is 397 299 850", ("ca_sin",)),
    ("Social insurance number 591-301-965", ("ca_sin",)),
    ("SIN: 562 858 365 for the employer", ("ca_sin",)),
    ("Her social insurance number is 758 895 742", ("ca_sin",)),
    ("Canada SIN 135-487-056 on the T4", ("ca_sin",)),
]

MIXED = [
    ("Email me at dana@example.com or call (415) 555-0110", ("email", "phone")),
    ("Card 4111 1111 1111 1111, billing email pay@example.org", ("card", "email")),
    ("Logged in from 203.0.113.9 as ops@example.com", ("email", "ip")),
    ("Wire to GB29 NWBK 6016 1331 9268 19, questions to +44 20 7946 0958", ("iban", "phone")),
    ("SSN 536-90-4399 and phone 212-555-0199 on the application", ("phone", "us_ssn")),
]

NEAR_MISSES = [
    # order, invoice, ticket and tracking numbers
    ("Order number 4111111111111112 shipped yesterday", ()),
    ("Her order #123456789 arrived damaged", ()),
    ("Invoice INV-2024-000123 is overdue", ()),
    ("Ticket 48213 was closed last week", ()),
    ("The tracking number is 1Z999AA10123456784", ()),
    ("Order 2024-11-0042 was refunded", ()),
    ("Reference number PO-77812-B for the laptop", ()),
    ("Case 00184522 escalated to tier 2", ()),
    ("Return authorisation RMA 55120 approved", ()),
    ("Booking reference K7XQ2M for the flight", ()),
    ("Order ID 987654321012 placed on the web shop", ()),
    ("Membership number 00451237 at the gym", ()),
    ("Loyalty card ending in 4242", ()),
    ("Account ending 7719 was charged twice", ()),
    ("Gift card code 7789 1123 0045 6612 was redeemed", ()),
    ("The serial number is SN-4471-8820-X", ()),
    # 16-digit numbers that fail the Luhn check
    ("Card-like number 4111 1111 1111 1112 from the form was invalid", ()),
    ("Customer id 4485198694056044 in the CRM", ()),
    ("Ledger entry 4512177328485746 matched", ()),
    ("Reference 1234 5678 9012 3456 on the statement", ()),
    # dates and times
    ("Meeting on 2024-03-05 at 10:30", ()),
    ("Born on 12/07/1988 in Porto", ()),
    ("The lease ends 31.12.2025", ()),
    ("Moved to Osaka in May 2021", ()),
    ("Flight leaves at 14:45 on 3 June", ()),
    ("Appointments between 09:00 and 17:30 suit her", ()),
    ("Started the job on March 5, 2024", ()),
    ("Timestamp 2024-03-05T10:30:00Z in the log", ()),
    ("Worked there from 1998 to 2005", ()),
    ("The sale runs 11/29 - 12/02", ()),
    # prices, amounts and measurements
    ("The premium plan costs $1,299.00 a year", ()),
    ("Paid €45.50 for the tickets", ()),
    ("Budget is 12,500 to 15,000 dollars", ()),
    ("Ran 10.5 km in 58:12", ()),
    ("Weighs 72 kg and is 1.85 m tall", ()),
    ("Salary expectation 85000 per year", ()),
    ("Walked 12,345 steps today", ()),
    ("Wants a loan of 250,000 over 25 years", ()),
    ("The invoice total was 1.234,56 EUR", ()),
    ("Temperature was 37.8 degrees this morning", ()),
    # version strings and software
    ("Upgraded the app to version 2.14.3", ()),
    ("Runs Python 3.11.7 on the server", ()),
    ("Chrome 120.0.6099.109 crashes on login", ()),
    ("Uses Ubuntu 22.04 at work", ()),
    ("The API v3 endpoint returned 404", ()),
    ("Firmware 4.2.0.17 fixed the wifi bug", ()),
    ("Build 20241105.3 failed the tests", ()),
    ("Installed node 18.19.0 and npm 10.2.3", ()),
    # zip codes, addresses and places
    ("Lives in the 94107 zip code", ()),
    ("Office at 10115 Berlin, Invalidenstrasse 3", ()),
    ("Moved to SW1A 1AA last spring", ()),
    ("Apartment 4B, 221 Baker Street", ()),
    ("Postal code 75008 Paris", ()),
    ("Ships to 560001 Bangalore", ()),
    ("The store at 1600 Amphitheatre Parkway", ()),
    ("Room 3021 on the third floor", ()),
    # other numbers that look like something
    ("ISBN 978-3-16-148410-0 is her favourite book", ()),
    ("The Zoom meeting id is 845 2213 9076", ()),
    ("Coordinates 48.8566, 2.3522 for the meetup", ()),
    ("Flight LH 1234 to Frankfurt", ()),
    ("Seat 23C on the train", ()),
    ("PIN for the door is 4821", ()),
    ("Extension 4412 reaches the help desk", ()),
    ("Score was 3-2 after extra time", ()),
    ("Batch 2023-B-0071 of the vaccine", ()),
    ("Model number XPS-9315 laptop", ()),
    ("Licence plate AB12 CDE on the car", ()),
    ("Product code 5901234123457 on the label", ()),
    ("Error code 0x80070005 when updating", ()),
    ("Got 1,024 followers this month", ()),
    ("The bus number 38 stops outside", ()),
    ("Rated it 4.5 out of 5", ()),
    ("Has 2 kids aged 7 and 10", ()),
    ("Plays chess with an Elo of 1850", ()),
    ("Table for 4 at 8pm on Friday", ()),
    ("Lot 12-34-5678 of the auction", ()),
    ("Part number 123-45-678 for the printer", ()),
    ("Reference 100-200-300 in the ledger", ()),
    ("Account 12345678 at the library", ()),
    ("Employee number 000123456 in HR", ()),
    ("Patient record 2023-55871 at the clinic", ()),
    ("Course code CS101 and room B2.14", ()),
    ("Her student id is 20231187", ()),
    # near-misses of the letter formats
    ("Ordered item ABCDE12345 from the catalogue", ()),
    ("The promo code SPRING2024X worked", ()),
    ("Voucher GB12 XMAS for the shop", ()),
    ("Her username is maria.lopez at example dot com", ()),
    ("The meeting is at the @ symbol cafe", ()),
    ("Tagged @maria_lopez in the post", ()),
    ("Filename report_2024@v2.pdf was attached", ()),
    # plain facts with no numbers at all
    ("Is allergic to peanuts and shellfish", ()),
    ("Prefers vegetarian restaurants", ()),
    ("Works as a nurse at a hospital in Lyon", ()),
    ("Has a dog named Biscuit", ()),
    ("Wants to visit Japan next spring", ()),
    ("Likes jazz and plays the piano", ()),
    ("Asked about a refund for a double charge", ()),
    ("Prefers to be contacted by email", ()),
    ("Her phone broke last week", ()),
    ("Does not want calls after 8pm", ()),
]

# Written after the detector's settings were chosen from the cases above, and not tuned on:
# how it does on text it has not seen.
UNSEEN = [
    ("Ring the clinic on 0161 496 0321 to rebook", ("phone",)),
    ("My cell: 312-555-0175", ("phone",)),
    ("+1-202-555-0143 is the DC office", ("phone",)),
    ("Call the Munich shop at +49 89 1234567", ("phone",)),
    ("Write to o.brien@uni.example.ac.uk about the thesis", ("email",)),
    ("Her address is first.last@sub.domain.example.com", ("email",)),
    ("Pays by card 5454 5454 5454 5454", ("card",)),
    ("Visa 4917 6100 0000 0000 for business trips", ("card",)),
    ("IBAN: SE45 5000 0000 0583 9825 7466", ("iban",)),
    ("Norwegian account NO93 8601 1117 947", ("iban",)),
    ("SSH into 10.0.0.254 to restart the service", ("ip",)),
    ("The router is at 192.168.1.1", ("ip",)),
    ("SSN 612-34-5678 on the lease application", ("us_ssn",)),
    ("NI number YZ 98 76 54 D for the new job", ("uk_nino",)),
    ("PAN no. is BQRPK3321G", ("in_pan",)),
    ("Deploy tag release-2024.11.05 went out", ()),
    ("Call back in 15 minutes", ()),
    ("The meeting is on 2025-01-15 14:00 UTC", ()),
    ("Phone model Pixel 8 Pro with 256 GB", ()),
    ("The watch has an IP68 rating", ()),
    ("CVE-2024-3094 was patched on the servers", ()),
    ("Paid invoice 1001-2002-3003 last Friday", ()),
    ("Invoice number 20241105-0042 from the supplier", ()),
    ("Tracking 9400 1000 0000 0000 0000 00 for the parcel", ()),
    ("Quote 77-1234-5678 for the insurance", ()),
    ("She ran the marathon in 3:41:07", ()),
    ("Order total: 3 items, 149.97 USD", ()),
    ("Flat 7, 12-14 Queen Street, Edinburgh", ()),
    ("Got 98.6 on the exam and 1450 on the SAT", ()),
    ("Mileage is 123,456 km on the van", ()),
]

CASES = [
    *PHONE,
    *EMAIL,
    *CARD,
    *IBAN,
    *IP,
    *US_SSN,
    *US_ITIN,
    *US_PASSPORT,
    *UK_NINO,
    *UK_NHS,
    *ES_NIF,
    *ES_NIE,
    *IT_FISCAL_CODE,
    *PL_PESEL,
    *IN_AADHAAR,
    *IN_PAN,
    *SG_NRIC,
    *AU_TFN,
    *AU_ABN,
    *CA_SIN,
    *MIXED,
    *NEAR_MISSES,
    *UNSEEN,
]
