-- u2u.lua: a Wireshark / tshark dissector for the U2U relay authentication protocol, version 1
-- (docs/protocol.md: the per-hop datagram header of section 2, the messages and IEs of section 3, the signature
-- and MAC coverage of sections 4 and 6.3-6.4, discovery of section 10, the data PDU of section 11, the rekeying
-- messages of section 12).
--
-- Load it:   wireshark -X lua_script:tools/wireshark/u2u.lua
--            tshark -X lua_script:tools/wireshark/u2u.lua -r capture.pcap -V
--   or copy it to ~/.local/lib/wireshark/plugins/ (Wireshark 3.6+; older: ~/.wireshark/plugins/).
-- Ports (Edit > Preferences > Protocols > U2U, or tshark -o): u2u.signalling_ports (default 40100-40102: source-ue,
-- relay-ue, target-ue as u2u-provision writes them) and u2u.discovery_ports (default 40110-40112: each one's
-- discovery port N+10, the multicast group's port too). Any other port: Decode As... > U2U.
--
-- It never raises a Lua error, whatever the bytes: every read is bounds-checked against the captured length, and
-- the dissection runs under pcall (a bug shows as the expert item u2u.dissector_bug, which the test looks for).
-- Expert info u2u.malformed marks only what the protocol's decoder refuses (docs/protocol.md section 2's rules);
-- an unknown comprehension-not-required IE (IEI bit 8 set) is shown as skipped (u2u.ie.skipped), as a receiver
-- skips it.
--
-- Fields (display filters):
--   u2u.version  u2u.src_l2  u2u.dst_l2              the per-hop Layer-2 header (octets 0-6)
--   u2u.src_name u2u.dst_name                        the User Info ID learnt for that Layer-2 ID (generated)
--   u2u.type  u2u.message                            message type octet and its name
--   u2u.step                                         the seed's step (1, 3, 5, 7; 9: LINK CONFIRM and its ACK)
--   u2u.session                                      first 8 octets of the request digest, hex (the logs' session)
--   u2u.ie  u2u.ie.iei  u2u.ie.name  u2u.ie.length  u2u.ie.value  u2u.ie.cnr (IEI bit 8: comprehension not required)
--   u2u.ie.user_info_id                              every User Info ID IE of the message, whatever its role
--   u2u.ie.source_user_info_id  u2u.ie.target_user_info_id  u2u.ie.selected_relay_user_info_id
--   u2u.ie.relay_user_info_id  u2u.ie.target_l2  u2u.ie.data_suite  u2u.ie.data_suite_chosen
--   u2u.ie.nonce_1  u2u.ie.nonce_2  u2u.ie.source_ephemeral_key  u2u.ie.target_ephemeral_key
--   u2u.ie.source_certificate  u2u.ie.target_certificate  u2u.ie.relay_certificate  u2u.ie.relay_certificate_digest
--   u2u.ie.request_digest  u2u.ie.mac  u2u.ie.cause  u2u.ie.rejected_by  u2u.ie.keepalive_counter
--   rekeying: u2u.ie.rekeying_generation  u2u.ie.rekeying_nonce  u2u.ie.rekeying_ephemeral_key
--   u2u.ie.sign_source  u2u.ie.sign1_relay  u2u.ie.sign_target  u2u.ie.sign2_relay
--   discovery: u2u.ie.sender_user_info_id  u2u.ie.sender_l2  u2u.ie.signalling_port  u2u.ie.relay_service_code
--   u2u.ie.timestamp  u2u.ie.timestamp_ms  u2u.ie.reachable_target  u2u.ie.reachable_target.l2
--   u2u.ie.reachable_target.user_info_id  u2u.ie.discovery_nonce  u2u.ie.sender_certificate
--   u2u.ie.discovery_signature
--   u2u.ie.skipped                                   an unknown comprehension-not-required IE, skipped
--   coverage (generated; value "FIRST-LAST", datagram octets inclusive, the item highlights them):
--   u2u.sign_source.covers  u2u.sign1_relay.covers  u2u.sign_target.covers  u2u.sign2_relay.covers
--   u2u.mac.covers  u2u.discovery_signature.covers  u2u.request_digest.covers  u2u.pdu.integrity_covers
--   u2u.signing_label                                the label in front of the covered octets
--   data PDU: u2u.pdu.link_label  u2u.pdu.kd_sess_id  u2u.pdu.bearer  u2u.pdu.count  u2u.pdu.suite
--   u2u.pdu.ciphertext  u2u.pdu.trailer  u2u.pdu.payload_and_trailer (when the suite was not seen in an accept)
-- Expert info: u2u.malformed (error), u2u.ie.skipped.expert (note), u2u.snapped (warning: the capture's snapshot
-- length cut the datagram), u2u.pdu.short (warning: a data PDU shorter than the trailer of the suite its link's
-- accept chose), u2u.dissector_bug (error).

local u2u = Proto("u2u", "U2U relay authentication protocol (3GPP ProSe UE-to-UE relay)")

local HEADER_SIZE = 7
local MAX_DATAGRAM = 1452
local VERSION = 1

-- ---- names -----------------------------------------------------------------------------------------------------

local message_names = {
  [0x01] = "DIRECT COMMUNICATION REQUEST",
  [0x02] = "DIRECT COMMUNICATION ACCEPT",
  [0x03] = "DIRECT COMMUNICATION REJECT",
  [0x07] = "DIRECT LINK RELEASE REQUEST",
  [0x08] = "DIRECT LINK RELEASE ACCEPT",
  [0x0e] = "LINK CONFIRM",
  [0x10] = "DIRECT LINK KEEPALIVE REQUEST",
  [0x11] = "DIRECT LINK KEEPALIVE RESPONSE",
  [0x12] = "LINK CONFIRM ACK",
  [0x13] = "DIRECT LINK REKEYING REQUEST",
  [0x14] = "DIRECT LINK REKEYING RESPONSE",
  [0x15] = "DIRECT LINK REKEYING CONFIRM",
  [0x30] = "DATA PDU",
  [0x41] = "RELAY DISCOVERY ANNOUNCEMENT (Model A)",
  [0x45] = "TARGET DISCOVERY ANNOUNCEMENT (Model A)",
  [0x89] = "DISCOVERY SOLICITATION (Model B)",
  [0x8d] = "DISCOVERY RESPONSE (Model B)",
  [0x91] = "TARGET DISCOVERY SOLICITATION (Model B)",
  [0x95] = "TARGET DISCOVERY RESPONSE (Model B)",
}

local ie_names = {
  [0x01] = "Source User Info ID",
  [0x02] = "Target User Info ID",
  [0x03] = "Target Layer-2 ID",
  [0x04] = "Nonce_1",
  [0x05] = "Source UE certificate",
  [0x06] = "SIGN-Source UE",
  [0x07] = "Request digest",
  [0x08] = "Nonce_2",
  [0x09] = "Target UE certificate",
  [0x0a] = "SIGN-Target UE",
  [0x0b] = "PC5 signalling protocol cause",
  [0x0c] = "Rejected by",
  [0x0d] = "Key confirmation MAC",
  [0x0e] = "Source ephemeral public key",
  [0x0f] = "Target ephemeral public key",
  [0x10] = "Keep-alive counter",
  [0x11] = "Selected relay User Info ID",
  [0x12] = "Relay certificate digest",
  [0x13] = "Data suites offered",
  [0x14] = "Data suite chosen",
  [0x15] = "Rekeying generation",
  [0x16] = "Rekeying nonce",
  [0x17] = "Rekeying ephemeral public key",
  [0x20] = "Relay User Info ID",
  [0x21] = "Relay UE certificate",
  [0x22] = "SIGN1-relay",
  [0x23] = "SIGN2-relay",
  [0x30] = "Sender User Info ID",
  [0x31] = "Sender Layer-2 ID",
  [0x32] = "Relay service code",
  [0x33] = "Reachable targets",
  [0x34] = "Timestamp",
  [0x35] = "Discovery nonce",
  [0x36] = "Sender certificate",
  [0x37] = "Discovery signature",
  [0x38] = "PC5 signalling port",
}

local step_names = {
  [1] = "source UE -> relay: request with Authentication_Info(source), SIGN-Source UE",
  [3] = "relay -> target UE: request with Authentication_Info(relay), SIGN1-relay (made in step 2)",
  [5] = "target UE -> relay: accept with Authentication_Info(target), SIGN-Target UE",
  [7] = "relay -> source UE: accept with Authentication_Info(relay), SIGN2-relay (made in step 6)",
  [9] = "key confirmation, this project's step after the seed's eight",
}

local cause_names = {
  [1] = "#1 direct communication to the target UE not allowed",
  [2] = "#2 direct communication no longer needed",
  [5] = "#5 lack of resources",
  [6] = "#6 authentication failure",
  [7] = "#7 integrity failure",
  [8] = "#8 UE security capabilities mismatch",
  [13] = "#13 congestion",
  [111] = "#111 protocol error, unspecified",
}

local rejected_by_names = { [1] = "relay", [2] = "target", [3] = "source" }
local suite_names = { [1] = "nea2-nia2", [2] = "aes-128-gcm", [3] = "null-nia2" }
local suite_trailer = { [1] = 4, [2] = 16, [3] = 4 }

-- ---- fields ----------------------------------------------------------------------------------------------------

local F = {
  version = ProtoField.uint8("u2u.version", "Protocol version", base.DEC),
  src_l2 = ProtoField.uint24("u2u.src_l2", "Source Layer-2 ID", base.HEX),
  dst_l2 = ProtoField.uint24("u2u.dst_l2", "Destination Layer-2 ID", base.HEX),
  src_name = ProtoField.string("u2u.src_name", "Source (learnt User Info ID)"),
  dst_name = ProtoField.string("u2u.dst_name", "Destination (learnt User Info ID)"),
  type = ProtoField.uint8("u2u.type", "Message type", base.HEX, message_names),
  message = ProtoField.string("u2u.message", "Message"),
  step = ProtoField.uint8("u2u.step", "Seed step", base.DEC, step_names),
  session = ProtoField.string("u2u.session", "Session (request digest, first 8 octets)"),
  ie = ProtoField.none("u2u.ie", "Information element"),
  iei = ProtoField.uint8("u2u.ie.iei", "IEI", base.HEX, ie_names),
  ie_cnr = ProtoField.bool("u2u.ie.cnr", "Comprehension not required", 8, nil, 0x80),
  ie_name = ProtoField.string("u2u.ie.name", "IE name"),
  ie_length = ProtoField.uint16("u2u.ie.length", "Length", base.DEC),
  ie_value = ProtoField.bytes("u2u.ie.value", "Value"),
  ie_skipped = ProtoField.bytes("u2u.ie.skipped", "Skipped IE (unknown, comprehension not required)"),
  user_info_id = ProtoField.string("u2u.ie.user_info_id", "User Info ID"),
  source_user_info_id = ProtoField.string("u2u.ie.source_user_info_id", "Source User Info ID"),
  target_user_info_id = ProtoField.string("u2u.ie.target_user_info_id", "Target User Info ID"),
  selected_relay_user_info_id = ProtoField.string("u2u.ie.selected_relay_user_info_id", "Selected relay User Info ID"),
  relay_user_info_id = ProtoField.string("u2u.ie.relay_user_info_id", "Relay User Info ID"),
  target_l2 = ProtoField.uint24("u2u.ie.target_l2", "Target Layer-2 ID", base.HEX),
  data_suite = ProtoField.uint8("u2u.ie.data_suite", "Data suite offered", base.HEX, suite_names),
  data_suite_chosen = ProtoField.uint8("u2u.ie.data_suite_chosen", "Data suite chosen", base.HEX, suite_names),
  nonce_1 = ProtoField.bytes("u2u.ie.nonce_1", "Nonce_1"),
  nonce_2 = ProtoField.bytes("u2u.ie.nonce_2", "Nonce_2"),
  source_ephemeral_key = ProtoField.bytes("u2u.ie.source_ephemeral_key", "Source ephemeral public key"),
  target_ephemeral_key = ProtoField.bytes("u2u.ie.target_ephemeral_key", "Target ephemeral public key"),
  source_certificate = ProtoField.bytes("u2u.ie.source_certificate", "Source UE certificate"),
  target_certificate = ProtoField.bytes("u2u.ie.target_certificate", "Target UE certificate"),
  relay_certificate = ProtoField.bytes("u2u.ie.relay_certificate", "Relay UE certificate"),
  relay_certificate_digest = ProtoField.bytes("u2u.ie.relay_certificate_digest", "Relay certificate digest"),
  request_digest = ProtoField.bytes("u2u.ie.request_digest", "Request digest"),
  mac = ProtoField.bytes("u2u.ie.mac", "Key confirmation MAC"),
  cause = ProtoField.uint8("u2u.ie.cause", "PC5 signalling protocol cause", base.DEC, cause_names),
  rejected_by = ProtoField.uint8("u2u.ie.rejected_by", "Rejected by", base.HEX, rejected_by_names),
  keepalive_counter = ProtoField.uint32("u2u.ie.keepalive_counter", "Keep-alive counter", base.DEC),
  rekeying_generation = ProtoField.uint32("u2u.ie.rekeying_generation", "Rekeying generation", base.DEC),
  rekeying_nonce = ProtoField.bytes("u2u.ie.rekeying_nonce", "Rekeying nonce"),
  rekeying_ephemeral_key = ProtoField.bytes("u2u.ie.rekeying_ephemeral_key", "Rekeying ephemeral public key"),
  sign_source = ProtoField.bytes("u2u.ie.sign_source", "SIGN-Source UE"),
  sign1_relay = ProtoField.bytes("u2u.ie.sign1_relay", "SIGN1-relay"),
  sign_target = ProtoField.bytes("u2u.ie.sign_target", "SIGN-Target UE"),
  sign2_relay = ProtoField.bytes("u2u.ie.sign2_relay", "SIGN2-relay"),
  sender_user_info_id = ProtoField.string("u2u.ie.sender_user_info_id", "Sender User Info ID"),
  sender_l2 = ProtoField.uint24("u2u.ie.sender_l2", "Sender Layer-2 ID", base.HEX),
  signalling_port = ProtoField.uint16("u2u.ie.signalling_port", "PC5 signalling port", base.DEC),
  relay_service_code = ProtoField.uint24("u2u.ie.relay_service_code", "Relay service code", base.HEX),
  timestamp = ProtoField.absolute_time("u2u.ie.timestamp", "Timestamp", base.UTC),
  timestamp_ms = ProtoField.uint64("u2u.ie.timestamp_ms", "Timestamp (ms since 1970)", base.DEC),
  reachable_target = ProtoField.none("u2u.ie.reachable_target", "Reachable target"),
  reachable_target_l2 = ProtoField.uint24("u2u.ie.reachable_target.l2", "Layer-2 ID", base.HEX),
  reachable_target_id = ProtoField.string("u2u.ie.reachable_target.user_info_id", "User Info ID"),
  discovery_nonce = ProtoField.bytes("u2u.ie.discovery_nonce", "Discovery nonce"),
  sender_certificate = ProtoField.bytes("u2u.ie.sender_certificate", "Sender certificate"),
  discovery_signature = ProtoField.bytes("u2u.ie.discovery_signature", "Discovery signature"),
  sign_source_covers = ProtoField.string("u2u.sign_source.covers", "SIGN-Source UE covers octets"),
  sign1_relay_covers = ProtoField.string("u2u.sign1_relay.covers", "SIGN1-relay covers octets"),
  sign_target_covers = ProtoField.string("u2u.sign_target.covers", "SIGN-Target UE covers octets"),
  sign2_relay_covers = ProtoField.string("u2u.sign2_relay.covers", "SIGN2-relay covers octets"),
  mac_covers = ProtoField.string("u2u.mac.covers", "MAC covers octets"),
  discovery_signature_covers = ProtoField.string("u2u.discovery_signature.covers", "Discovery signature covers octets"),
  request_digest_covers = ProtoField.string("u2u.request_digest.covers", "Request digest (SHA-256) covers octets"),
  pdu_integrity_covers = ProtoField.string("u2u.pdu.integrity_covers", "Integrity covers octets"),
  signing_label = ProtoField.string("u2u.signing_label", "Label"),
  pdu_link_label = ProtoField.bytes("u2u.pdu.link_label", "Link label (request digest, first 8 octets)"),
  pdu_kd_sess_id = ProtoField.uint16("u2u.pdu.kd_sess_id", "KD-sess ID (first 16 bits)", base.HEX),
  pdu_bearer = ProtoField.uint8("u2u.pdu.bearer", "BEARER", base.DEC),
  pdu_count = ProtoField.uint32("u2u.pdu.count", "COUNT", base.DEC),
  pdu_suite = ProtoField.uint8("u2u.pdu.suite", "Suite (from the link's accept)", base.HEX, suite_names),
  pdu_ciphertext = ProtoField.bytes("u2u.pdu.ciphertext", "Payload (ciphered unless null-nia2)"),
  pdu_trailer = ProtoField.bytes("u2u.pdu.trailer", "GCM tag or NIA2 MAC-I"),
  pdu_payload_and_trailer = ProtoField.bytes("u2u.pdu.payload_and_trailer", "Payload and trailer (suite unknown)"),
}
local field_list = {}
for _, f in pairs(F) do field_list[#field_list + 1] = f end
u2u.fields = field_list

local E = {
  malformed = ProtoExpert.new("u2u.malformed", "Malformed U2U datagram", expert.group.MALFORMED, expert.severity.ERROR),
  skipped = ProtoExpert.new("u2u.ie.skipped.expert", "Unknown comprehension-not-required IE, skipped",
                            expert.group.UNDECODED, expert.severity.NOTE),
  snapped = ProtoExpert.new("u2u.snapped", "Datagram cut short by the capture", expert.group.UNDECODED,
                            expert.severity.WARN),
  short_pdu = ProtoExpert.new("u2u.pdu.short", "Data PDU shorter than its suite's trailer", expert.group.PROTOCOL,
                              expert.severity.WARN),
  bug = ProtoExpert.new("u2u.dissector_bug", "U2U dissector bug", expert.group.PROTOCOL, expert.severity.ERROR),
}
u2u.experts = { E.malformed, E.skipped, E.snapped, E.short_pdu, E.bug }

-- ---- preferences: the ports ------------------------------------------------------------------------------------

local DEFAULT_SIGNALLING = "40100-40102"
local DEFAULT_DISCOVERY = "40110-40112"
u2u.prefs.signalling_ports = Pref.range("Signalling UDP ports", DEFAULT_SIGNALLING,
  "UDP ports of the PC5 signalling (link procedure) and data PDUs: source-ue, relay-ue, target-ue", 65535)
u2u.prefs.discovery_ports = Pref.range("Discovery UDP ports", DEFAULT_DISCOVERY,
  "UDP ports of discovery (each daemon's port + 10; the multicast group's port)", 65535)

local udp_table = DissectorTable.get("udp.port")
local registered = {}
local function register_ports()
  local wanted = { tostring(u2u.prefs.signalling_ports), tostring(u2u.prefs.discovery_ports) }
  if #registered == 2 and registered[1] == wanted[1] and registered[2] == wanted[2] then return end
  for _, r in ipairs(registered) do pcall(function() udp_table:remove(r, u2u) end) end
  registered = {}
  for _, r in ipairs(wanted) do
    if r ~= "" then pcall(function() udp_table:add(r, u2u) end) end
    registered[#registered + 1] = r
  end
end
function u2u.prefs_changed() register_ports() end

-- ---- state learnt from the capture (Layer-2 ID -> User Info ID; link label -> data suite) ----------------------

local l2_names = {}
local link_suites = {}
function u2u.init()
  l2_names = {}
  link_suites = {}
end

-- ---- schemas (docs/protocol.md 3.1-3.4 and 10.1): IEI, min length, max length, group --------------------------
-- group 0: mandatory; 1: the relay's three IEs, all or none; 2: optional.

local function S(list) return list end
local request_schema = S{ {0x01,1,64,0}, {0x02,1,64,0}, {0x03,3,3,0}, {0x11,1,64,0}, {0x13,1,4,0}, {0x04,16,16,0},
  {0x0e,65,65,2}, {0x05,1,460,0}, {0x06,64,64,0}, {0x20,1,64,1}, {0x21,1,460,1}, {0x22,64,64,1} }
local accept_schema = S{ {0x02,1,64,0}, {0x07,32,32,0}, {0x12,32,32,0}, {0x14,1,1,0}, {0x08,16,16,0},
  {0x0f,65,65,2}, {0x09,1,460,0}, {0x0d,32,32,0}, {0x0a,64,64,0}, {0x20,1,64,1}, {0x21,1,460,1}, {0x23,64,64,1} }
local reject_schema = S{ {0x07,32,32,0}, {0x0b,1,1,0}, {0x0c,1,1,0} }
local digest_mac_schema = S{ {0x07,32,32,0}, {0x0d,32,32,0} }
local keepalive_schema = S{ {0x07,32,32,0}, {0x10,4,4,0}, {0x0d,32,32,0} }
local release_request_schema = S{ {0x07,32,32,0}, {0x0b,1,1,0}, {0x0d,32,32,0} }
local rekeying_schema = S{ {0x07,32,32,0}, {0x15,4,4,0}, {0x16,16,16,0}, {0x17,65,65,2}, {0x0d,32,32,0} }
local rekeying_confirm_schema = S{ {0x07,32,32,0}, {0x15,4,4,0}, {0x0d,32,32,0} }
local relay_announcement_schema = S{ {0x30,1,64,0}, {0x31,3,3,0}, {0x38,2,2,0}, {0x32,3,3,0}, {0x34,8,8,0},
  {0x33,0,544,0}, {0x36,1,460,0}, {0x37,64,64,0} }
local target_announcement_schema = S{ {0x30,1,64,0}, {0x31,3,3,0}, {0x38,2,2,0}, {0x34,8,8,0}, {0x36,1,460,0},
  {0x37,64,64,0} }
local solicitation_schema = S{ {0x30,1,64,0}, {0x31,3,3,0}, {0x02,1,64,0}, {0x35,16,16,0}, {0x34,8,8,0},
  {0x36,1,460,0}, {0x37,64,64,0} }
local response_schema = S{ {0x30,1,64,0}, {0x31,3,3,0}, {0x38,2,2,0}, {0x32,3,3,2}, {0x02,1,64,0}, {0x03,3,3,0},
  {0x35,16,16,0}, {0x34,8,8,0}, {0x36,1,460,0}, {0x37,64,64,0} }
local target_response_schema = S{ {0x30,1,64,0}, {0x31,3,3,0}, {0x38,2,2,0}, {0x02,1,64,0}, {0x03,3,3,0},
  {0x35,16,16,0}, {0x34,8,8,0}, {0x36,1,460,0}, {0x37,64,64,0} }

local schemas = {
  [0x01] = request_schema, [0x02] = accept_schema, [0x03] = reject_schema,
  [0x0e] = digest_mac_schema, [0x12] = digest_mac_schema, [0x08] = digest_mac_schema,
  [0x10] = keepalive_schema, [0x11] = keepalive_schema, [0x07] = release_request_schema,
  [0x13] = rekeying_schema, [0x14] = rekeying_schema, [0x15] = rekeying_confirm_schema,
  [0x41] = relay_announcement_schema, [0x45] = target_announcement_schema,
  [0x89] = solicitation_schema, [0x91] = solicitation_schema,
  [0x8d] = response_schema, [0x95] = target_response_schema,
}

-- The MAC's label per message type (sections 6.3 and 6.4).
local mac_labels = {
  [0x02] = "U2U-RELAY-AUTH v1 step 5 key confirmation",
  [0x0e] = "U2U-RELAY-AUTH v1 step 9 link confirmation (after SHA-256 of the accept as the target sent it)",
  [0x12] = "U2U-RELAY-AUTH v1 LINK CONFIRM ACK",
  [0x10] = "U2U-RELAY-AUTH v1 KEEPALIVE REQUEST",
  [0x11] = "U2U-RELAY-AUTH v1 KEEPALIVE RESPONSE",
  [0x07] = "U2U-RELAY-AUTH v1 RELEASE REQUEST from the source UE",
  [0x08] = "U2U-RELAY-AUTH v1 RELEASE ACCEPT from the target UE",
  [0x13] = "U2U-RELAY-AUTH v1 REKEYING REQUEST (under the current K_int)",
  [0x14] = "U2U-RELAY-AUTH v1 REKEYING RESPONSE (under the new K_int)",
  [0x15] = "U2U-RELAY-AUTH v1 REKEYING CONFIRM (under the new K_int)",
}

-- Signature and MAC IEs: the field of the IE value, of its coverage, and its label.
local signatures = {
  [0x06] = { covers = F.sign_source_covers, label = "U2U-RELAY-AUTH v1 step 1 SIGN-Source UE" },
  [0x22] = { covers = F.sign1_relay_covers, label = "U2U-RELAY-AUTH v1 step 2 SIGN1-relay" },
  [0x0a] = { covers = F.sign_target_covers, label = "U2U-RELAY-AUTH v1 step 5 SIGN-Target UE" },
  [0x23] = { covers = F.sign2_relay_covers, label = "U2U-RELAY-AUTH v1 step 6 SIGN2-relay" },
  [0x0d] = { covers = F.mac_covers },
  [0x37] = { covers = F.discovery_signature_covers },
}

local value_fields = {
  [0x01] = F.source_user_info_id, [0x02] = F.target_user_info_id, [0x03] = F.target_l2, [0x04] = F.nonce_1,
  [0x05] = F.source_certificate, [0x06] = F.sign_source, [0x07] = F.request_digest, [0x08] = F.nonce_2,
  [0x09] = F.target_certificate, [0x0a] = F.sign_target, [0x0b] = F.cause, [0x0c] = F.rejected_by,
  [0x0d] = F.mac, [0x0e] = F.source_ephemeral_key, [0x0f] = F.target_ephemeral_key, [0x10] = F.keepalive_counter,
  [0x11] = F.selected_relay_user_info_id, [0x12] = F.relay_certificate_digest, [0x14] = F.data_suite_chosen,
  [0x15] = F.rekeying_generation, [0x16] = F.rekeying_nonce, [0x17] = F.rekeying_ephemeral_key,
  [0x20] = F.relay_user_info_id, [0x21] = F.relay_certificate, [0x22] = F.sign1_relay, [0x23] = F.sign2_relay,
  [0x30] = F.sender_user_info_id, [0x31] = F.sender_l2, [0x32] = F.relay_service_code,
  [0x35] = F.discovery_nonce, [0x36] = F.sender_certificate, [0x37] = F.discovery_signature,
  [0x38] = F.signalling_port,
}
local user_info_id_ieis = { [0x01] = true, [0x02] = true, [0x11] = true, [0x20] = true, [0x30] = true }

-- ---- helpers ---------------------------------------------------------------------------------------------------

local function hex_iei(iei) return string.format("0x%02x", iei) end
local function iei_label(iei) return hex_iei(iei) .. " " .. (ie_names[iei] or "unknown") end

local function printable_id(tvb, offset, len)
  if len < 1 or len > 64 then return false end
  local s = tvb:raw(offset, len)
  return s:find("[^\33-\126]") == nil
end

-- Set per datagram: the capture holds fewer octets than the datagram had (a snapshot length), so what runs out is
-- the capture's doing, not the sender's.
local snapped = false

local function malformed(tree, tvb, offset, len, text)
  -- offset/len inside the captured bytes (callers check); without a range, on the tree.
  if tvb and len and len > 0 then
    tree:add_tvb_expert_info(E.malformed, tvb(offset, len), text)
  else
    tree:add_proto_expert_info(E.malformed, text)
  end
end

-- Running out of octets: malformed, unless the capture was cut short.
local function truncated(tree, tvb, offset, len, text)
  if snapped then
    tree:add_proto_expert_info(E.snapped, text .. " (the capture was cut short)")
  else
    malformed(tree, tvb, offset, len, text)
  end
end

-- ---- the data PDU (section 11.4) -------------------------------------------------------------------------------

local PDU_HEADER = 16  -- type (1) || link label (8) || KD-sess ID (2) || BEARER (1) || COUNT (4)

local function dissect_pdu(tvb, pinfo, tree, total)
  local info = "DATA PDU"
  if total < HEADER_SIZE + PDU_HEADER then
    truncated(tree, tvb, HEADER_SIZE, total - HEADER_SIZE, "data PDU shorter than its header (23 octets)")
    return info .. " (truncated)"
  end
  local label_range = tvb(HEADER_SIZE + 1, 8)
  tree:add(F.pdu_link_label, label_range)
  tree:add(F.session, label_range, label_range:bytes():tohex():lower()):set_generated()
  local kd = tvb(HEADER_SIZE + 9, 2)
  tree:add(F.pdu_kd_sess_id, kd)
  local bearer = tvb(HEADER_SIZE + 11, 1)
  local bearer_item = tree:add(F.pdu_bearer, bearer)
  local b = bearer:uint()
  if b == 0 then bearer_item:append_text(" (the TUN interface)") elseif b <= 31 then
    bearer_item:append_text(" (a UDP forward)") end
  if b > 31 then malformed(tree, tvb, HEADER_SIZE + 11, 1, "BEARER " .. b .. " above 31") end
  local count = tvb(HEADER_SIZE + 12, 4)
  tree:add(F.pdu_count, count)
  local payload_offset = HEADER_SIZE + PDU_HEADER
  local rest = total - payload_offset
  local key = label_range:bytes():tohex():lower()
  local suite = link_suites[key]
  if suite then
    tree:add(F.pdu_suite, suite):set_generated()
  end
  local trailer = suite and suite_trailer[suite]
  if trailer and rest >= trailer then
    if rest > trailer then tree:add(F.pdu_ciphertext, tvb(payload_offset, rest - trailer)) end
    tree:add(F.pdu_trailer, tvb(payload_offset + rest - trailer, trailer))
  elseif trailer then
    -- Not a decoding error (the receiver drops it at the integrity check): shown whole, with a warning.
    if rest > 0 then tree:add(F.pdu_payload_and_trailer, tvb(payload_offset, rest)) end
    tree:add_proto_expert_info(E.short_pdu, string.format("shorter than the %s trailer (%d octets)",
      suite_names[suite] or "?", trailer))
  elseif rest > 0 then
    tree:add(F.pdu_payload_and_trailer, tvb(payload_offset, rest))
  end
  local cov = tree:add(F.pdu_integrity_covers, tvb(HEADER_SIZE, PDU_HEADER),
    string.format("%d-%d", HEADER_SIZE, HEADER_SIZE + PDU_HEADER - 1))
  cov:append_text(" (the PDU header, type through COUNT, and the ciphertext before the trailer)")
  cov:set_generated()
  return string.format("DATA PDU session %s KD-sess ID %s BEARER %d COUNT %d", key,
    kd:bytes():tohex():lower(), b, count:uint())
end

-- ---- IE values -------------------------------------------------------------------------------------------------

local function add_reachable_targets(tree, tvb, offset, len)
  local pos, stop, n = offset, offset + len, 0
  while pos < stop do
    if stop - pos < 4 then
      malformed(tree, tvb, pos, stop - pos, "malformed reachable target entry")
      return
    end
    local idlen = tvb(pos + 3, 1):uint()
    if idlen < 1 or idlen > 64 or pos + 4 + idlen > stop then
      malformed(tree, tvb, pos, stop - pos, "malformed or truncated reachable target entry")
      return
    end
    n = n + 1
    local t = tree:add(F.reachable_target, tvb(pos, 4 + idlen))
    t:add(F.reachable_target_l2, tvb(pos, 3))
    t:add(F.reachable_target_id, tvb(pos + 4, idlen))
    t:append_text(string.format(": %s at 0x%06x", tvb(pos + 4, idlen):string(), tvb(pos, 3):uint()))
    if not printable_id(tvb, pos + 4, idlen) then
      malformed(t, tvb, pos + 4, idlen, "User Info ID holds a character outside printable ASCII")
    end
    pos = pos + 4 + idlen
  end
  if n > 8 then malformed(tree, tvb, offset, len, "more than 8 reachable targets") end
end

-- Adds the typed items of one known IE's value; returns a short text for the IE's line.
local function add_value(t, tvb, iei, voff, vlen, mtype)
  local text = nil
  local vr = vlen > 0 and tvb(voff, vlen) or nil
  if not vr then return nil end
  if iei == 0x13 then
    local names = {}
    for i = 0, vlen - 1 do
      local s = tvb(voff + i, 1)
      t:add(F.data_suite, s)
      names[#names + 1] = suite_names[s:uint()] or string.format("0x%02x", s:uint())
    end
    return table.concat(names, ", ")
  elseif iei == 0x33 then
    add_reachable_targets(t, tvb, voff, vlen)
    return nil
  elseif iei == 0x34 then
    if vlen == 8 then
      local ms = vr:uint64()
      t:add(F.timestamp_ms, vr)
      local secs = (ms / 1000):tonumber()
      local msr = (ms % 1000):tonumber()
      if secs < 2^52 then t:add(F.timestamp, vr, NSTime.new(secs, msr * 1000000)) end
      return tostring(ms) .. " ms"
    end
    return nil
  end
  local f = value_fields[iei]
  if not f then return nil end
  local fixed = { [0x03] = 3, [0x31] = 3, [0x32] = 3, [0x0b] = 1, [0x0c] = 1, [0x14] = 1, [0x10] = 4, [0x38] = 2,
    [0x15] = 4 }
  if fixed[iei] and fixed[iei] ~= vlen then
    t:add(F.ie_value, vr)  -- wrong length: reported by the schema check, shown raw
    return nil
  end
  t:add(f, vr)
  if user_info_id_ieis[iei] then
    t:add(F.user_info_id, vr):set_hidden()
    text = vr:string()
    if not printable_id(tvb, voff, vlen) then
      malformed(t, tvb, voff, vlen, "User Info ID holds a character outside printable ASCII (0x21-0x7e)")
    end
  elseif iei == 0x03 or iei == 0x31 or iei == 0x32 then
    text = string.format("0x%06x", vr:uint())
  elseif iei == 0x0b then
    text = cause_names[vr:uint()] or ("#" .. vr:uint() .. " (unknown: read as #111)")
  elseif iei == 0x0c then
    text = rejected_by_names[vr:uint()] or string.format("0x%02x (unknown)", vr:uint())
  elseif iei == 0x14 then
    text = suite_names[vr:uint()] or string.format("0x%02x", vr:uint())
  elseif iei == 0x10 or iei == 0x15 then
    text = tostring(vr:uint())
  elseif iei == 0x38 then
    text = tostring(vr:uint())
    if vr:uint() == 0 then malformed(t, tvb, voff, vlen, "signalling port 0") end
  elseif iei == 0x07 and vlen >= 8 then
    text = tvb(voff, 8):bytes():tohex():lower() .. "..."
  end
  return text
end

-- ---- one message (type octet onward) ---------------------------------------------------------------------------

local function dissect_message(tvb, pinfo, tree, total, mtype)
  local schema = schemas[mtype]
  local name = message_names[mtype]
  local pos = HEADER_SIZE + 1
  local found = {}          -- schema index -> {offset, length, vlen}
  local last_index = 0
  local ies = {}            -- in order: {iei, offset, vlen}
  local ok = true
  while pos < total do
    local ie_off = pos
    if total - pos < 3 then
      truncated(tree, tvb, pos, total - pos, "truncated IE header at message offset " .. (pos - HEADER_SIZE))
      ok = false
      break
    end
    local iei = tvb(pos, 1):uint()
    local vlen = tvb(pos + 1, 2):uint()
    local avail = total - (pos + 3)
    local shown = math.min(vlen, avail)
    local idx = nil
    for i, spec in ipairs(schema) do if spec[1] == iei then idx = i; break end end
    local t
    if idx == nil and iei >= 0x80 then
      t = tree:add(F.ie_skipped, tvb(pos, 3 + shown))
      t:set_text(string.format("IE %s (unknown, comprehension not required: skipped), %d octet%s", hex_iei(iei), vlen,
        vlen == 1 and "" or "s"))
      t:add_tvb_expert_info(E.skipped, tvb(pos, 3 + shown))
    else
      t = tree:add(F.ie, tvb(pos, 3 + shown))
      t:set_text(string.format("IE %s, %d octet%s", iei_label(iei), vlen, vlen == 1 and "" or "s"))
    end
    t:add(F.iei, tvb(pos, 1))
    t:add(F.ie_cnr, tvb(pos, 1))
    t:add(F.ie_name, tvb(pos, 1), ie_names[iei] or "unknown"):set_generated()
    t:add(F.ie_length, tvb(pos + 1, 2))
    if vlen > avail then
      if avail > 0 then t:add(F.ie_value, tvb(pos + 3, avail)) end
      truncated(t, tvb, pos, total - pos, string.format("IE %s declares %d octets, %d remain", hex_iei(iei), vlen, avail))
      ok = false
      break
    end
    local voff = pos + 3
    pos = voff + vlen
    if idx == nil then
      if vlen > 0 then t:add(F.ie_value, tvb(voff, vlen)) end
      if iei < 0x80 then
        malformed(t, tvb, ie_off, 3 + vlen, "unknown comprehension-required IE " .. iei_label(iei) .. " in a " .. name)
        ok = false
      end
    else
      local spec = schema[idx]
      local text = add_value(t, tvb, iei, voff, vlen, mtype)
      if text then t:append_text(": " .. text) end
      if found[idx] then
        malformed(t, tvb, ie_off, 3 + vlen, "duplicate IE " .. iei_label(iei)); ok = false
      elseif idx < last_index then
        malformed(t, tvb, ie_off, 3 + vlen, "IE " .. iei_label(iei) .. " out of order"); ok = false
      end
      if vlen < spec[2] or vlen > spec[3] then
        malformed(t, tvb, ie_off, 3 + vlen, string.format("IE %s has length %d, allowed %d..%d", iei_label(iei), vlen,
          spec[2], spec[3]))
        ok = false
      end
      if not found[idx] then found[idx] = { offset = ie_off, voff = voff, vlen = vlen, item = t } end
      if idx > last_index then last_index = idx end
      local sig = signatures[iei]
      if sig then
        local first, last = HEADER_SIZE, ie_off - 1
        local label = sig.label
        if iei == 0x0d then label = mac_labels[mtype] end
        if iei == 0x37 then label = "U2U-RELAY-AUTH v1 discovery " .. name end
        local covered = last - first + 1
        local c = t:add(sig.covers, tvb(first, covered), string.format("%d-%d", first, last))
        c:append_text(string.format(" (%d octets of the datagram: the message from its type octet up to this IE)", covered))
        c:set_generated()
        if label then c:add(F.signing_label, tvb(ie_off, 1), label):set_generated() end
      end
    end
    ies[#ies + 1] = { iei = iei, offset = ie_off, voff = voff, vlen = vlen }
  end
  if not ok then return found, false end
  -- mandatory IEs, the relay's group, nothing after the final signature or MAC
  local any_relay, all_relay, has_relay = false, true, false
  for i, spec in ipairs(schema) do
    if spec[4] == 0 and not found[i] then
      malformed(tree, nil, nil, nil, "missing mandatory IE " .. iei_label(spec[1])); ok = false
    elseif spec[4] == 1 then
      has_relay = true
      any_relay = any_relay or found[i] ~= nil
      all_relay = all_relay and found[i] ~= nil
    end
  end
  if has_relay and any_relay and not all_relay then
    malformed(tree, nil, nil, nil, "incomplete relay Authentication_Info"); ok = false
  end
  if ok and mtype ~= 0x03 then
    local final = nil
    for i = #schema, 1, -1 do if found[i] then final = found[i]; break end end
    if final and final.voff + final.vlen ~= total then
      local after = final.voff + final.vlen
      malformed(tree, tvb, after, total - after, (total - after) .. " octets after the final signature or MAC")
      ok = false
    end
  end
  return found, ok
end

local function find_value(tvb, found, schema, iei)
  for i, spec in ipairs(schema) do
    if spec[1] == iei and found[i] then return tvb(found[i].voff, found[i].vlen), found[i] end
  end
  return nil
end

local function id_of(tvb, found, schema, iei)
  local r = find_value(tvb, found, schema, iei)
  if r and r:len() > 0 then return r:string() end
  return nil
end

-- ---- the datagram ----------------------------------------------------------------------------------------------

local function dissect(tvb, pinfo, tree)
  pinfo.cols.protocol = "U2U"
  local total = tvb:len()  -- captured octets: nothing is read beyond them
  local reported = tvb:reported_len()
  snapped = total < reported
  if snapped then
    tree:add_proto_expert_info(E.snapped, string.format("the capture holds %d of the datagram's %d octets", total,
      reported))
  end
  if reported > MAX_DATAGRAM then
    tree:add_proto_expert_info(E.malformed, string.format("datagram of %d octets exceeds %d", reported, MAX_DATAGRAM))
  end
  if total < HEADER_SIZE + 1 then
    if total > 0 then tree:add(F.version, tvb(0, 1)) end
    truncated(tree, tvb, 0, total, "datagram shorter than its header and message type (8 octets)")
    pinfo.cols.info = "U2U (truncated)"
    return
  end
  local ver = tvb(0, 1):uint()
  local vi = tree:add(F.version, tvb(0, 1))
  local src = tvb(1, 3):uint()
  local dst = tvb(4, 3):uint()
  tree:add(F.src_l2, tvb(1, 3))
  tree:add(F.dst_l2, tvb(4, 3))
  local mtype = tvb(7, 1):uint()
  local ti = tree:add(F.type, tvb(7, 1))
  local name = message_names[mtype]
  if ver ~= VERSION then
    malformed(vi, tvb, 0, 1, "unsupported protocol version " .. ver)
    pinfo.cols.info = string.format("U2U version %d (not 1)", ver)
    return
  end
  if not name then
    malformed(ti, tvb, 7, 1, string.format("unknown message type 0x%02x", mtype))
    pinfo.cols.info = string.format("U2U unknown message type 0x%02x", mtype)
    return
  end
  tree:add(F.message, tvb(7, 1), name):set_generated()
  tree:append_text(", " .. name)

  local info
  if mtype == 0x30 then
    info = dissect_pdu(tvb, pinfo, tree, total)
  else
    local schema = schemas[mtype]
    local found, ok = dissect_message(tvb, pinfo, tree, total, mtype)
    local step = nil
    local relay_id = id_of(tvb, found, schema, 0x20)
    -- a request or accept cut short may have lost the relay's IEs: no step then
    if mtype == 0x01 and (ok or relay_id) then step = relay_id and 3 or 1
    elseif mtype == 0x02 and (ok or relay_id) then step = relay_id and 7 or 5
    elseif mtype == 0x0e or mtype == 0x12 then step = 9 end
    if step then tree:add(F.step, tvb(7, 1), step):set_generated() end
    local digest = find_value(tvb, found, schema, 0x07)
    local session = nil
    if digest and digest:len() >= 8 then
      session = tvb(digest:offset(), 8):bytes():tohex():lower()
      tree:add(F.session, tvb(digest:offset(), 8), session):set_generated()
    end
    -- request digest coverage: the request as the source sent it, type through SIGN-Source UE
    if mtype == 0x01 then
      local _, sig = find_value(tvb, found, schema, 0x06)
      if sig then
        local last = sig.voff + sig.vlen - 1
        local c = tree:add(F.request_digest_covers, tvb(HEADER_SIZE, last - HEADER_SIZE + 1),
          string.format("%d-%d", HEADER_SIZE, last))
        c:append_text(" (SHA-256 of the request as the source sent it: type through SIGN-Source UE)")
        c:set_generated()
      end
    end
    -- learn names: Layer-2 ID -> User Info ID (what this capture showed; for the src/dst items and Info)
    local src_id, dst_id = nil, nil
    if ok then
      if step == 1 then src_id = id_of(tvb, found, schema, 0x01); dst_id = id_of(tvb, found, schema, 0x11)
      elseif step == 3 then src_id = relay_id
      elseif step == 5 then src_id = id_of(tvb, found, schema, 0x02)
      elseif step == 7 then src_id = relay_id
      elseif schema == relay_announcement_schema or schema == response_schema or schema == target_response_schema
          or schema == target_announcement_schema or schema == solicitation_schema then
        src_id = id_of(tvb, found, schema, 0x30)
      end
      if src_id and not pinfo.visited then l2_names[src] = src_id end
      if dst_id and not pinfo.visited and not l2_names[dst] then l2_names[dst] = dst_id end
      if step == 3 then
        local tl2 = find_value(tvb, found, schema, 0x03)
        local tid = id_of(tvb, found, schema, 0x02)
        if tl2 and tl2:len() == 3 and tid and not pinfo.visited then l2_names[tl2:uint()] = tid end
      end
      if mtype == 0x02 and session then
        local suite = find_value(tvb, found, schema, 0x14)
        if suite and suite:len() == 1 then link_suites[session] = suite:uint() end
      end
    end
    if l2_names[src] then tree:add(F.src_name, tvb(1, 3), l2_names[src]):set_generated() end
    if l2_names[dst] then tree:add(F.dst_name, tvb(4, 3), l2_names[dst]):set_generated() end

    info = name
    if step then info = "[step " .. step .. "] " .. info end
    local parts = {}
    if mtype == 0x01 then
      parts[#parts + 1] = (id_of(tvb, found, schema, 0x01) or "?") .. " -> " .. (id_of(tvb, found, schema, 0x02) or "?")
      if relay_id then parts[#parts + 1] = "relayed by " .. relay_id
      else parts[#parts + 1] = "via " .. (id_of(tvb, found, schema, 0x11) or "?") end
    elseif mtype == 0x02 then
      parts[#parts + 1] = "from " .. (id_of(tvb, found, schema, 0x02) or "?")
      if relay_id then parts[#parts + 1] = "relayed by " .. relay_id end
    elseif message_names[mtype] and schemas[mtype] and mtype >= 0x40 then
      parts[#parts + 1] = "from " .. (id_of(tvb, found, schema, 0x30) or "?")
      local target = id_of(tvb, found, schema, 0x02)
      if target then parts[#parts + 1] = "target " .. target end
    end
    if mtype == 0x03 then
      local c = find_value(tvb, found, schema, 0x0b)
      local by = find_value(tvb, found, schema, 0x0c)
      if c and c:len() == 1 then parts[#parts + 1] = cause_names[c:uint()] or ("#" .. c:uint()) end
      if by and by:len() == 1 then parts[#parts + 1] = "by " .. (rejected_by_names[by:uint()] or "?") end
    end
    if mtype >= 0x13 and mtype <= 0x15 then
      local g = find_value(tvb, found, schema, 0x15)
      if g and g:len() == 4 then parts[#parts + 1] = "generation " .. g:uint() end
      if find_value(tvb, found, schema, 0x17) then parts[#parts + 1] = "with an ephemeral key" end
    end
    if session then parts[#parts + 1] = "session " .. session end
    if #parts > 0 then info = info .. " " .. table.concat(parts, ", ") end
    if not ok then info = info .. (snapped and " [cut short by the capture]" or " [malformed]") end
  end
  local hop = string.format("0x%06x", src) .. (l2_names[src] and ("(" .. l2_names[src] .. ")") or "") .. " > " ..
    string.format("0x%06x", dst) .. (l2_names[dst] and ("(" .. l2_names[dst] .. ")") or "")
  pinfo.cols.info = info .. "  L2 " .. hop
end

function u2u.dissector(tvb, pinfo, root)
  local tree = nil
  local ok, err = pcall(function()
    tree = tvb:len() > 0 and root:add(u2u, tvb(0, tvb:len())) or root:add(u2u)
    dissect(tvb, pinfo, tree)
  end)
  if not ok then
    -- Never a Lua error in the packet list: a bug in this script shows as expert info (tests look for it).
    pcall(function()
      (tree or root):add_proto_expert_info(E.bug, "U2U dissector bug: " .. tostring(err))
    end)
  end
  return tvb:len()
end

-- After the dissector exists (a table takes only a protocol that has one).
register_ports()
