// An SMSC for tests, built on the npm package smpp 0.5.1's server (not our codec).
//
// Usage: node smsc.js  (environment: SMSC_PORT, SMSC_SYSTEM_ID, SMSC_PASSWORD, SMSC_ID_PREFIX,
// and SMSC_TLS_KEY and SMSC_TLS_CERT, PEM files, to listen with TLS)
//
// It listens on 127.0.0.1:SMSC_PORT and accepts bind_transceiver (and bind_transmitter /
// bind_receiver) with that system_id and password: an unknown system_id is answered
// ESME_RINVSYSID, a wrong password ESME_RINVPASWD, and the connection is closed.
//
// Events, one JSON object a line on stdout:
//   {"event":"listening","port":N}
//   {"event":"bind","command":"bind_transceiver","system_id":"…","status":0}
//   {"event":"submit","seq":N,"source":"…","dest":"…","data_coding":0,"esm_class":0,
//    "short_message":"<hex>","udh":{"ref":R,"count":C,"seq":S}|null,"text":"…",
//    "message_id":"…"|null,"status":0|null}   (status null: not answered, see "silent")
//   {"event":"deliver_resp","tag":"…","status":N}  (the ESME's answer to a deliver_sm we sent)
//   {"event":"resp","tag":"…","command":"…","status":N}  (the ESME's answer to a "request")
//   {"event":"enquire_link"} {"event":"unbind"} {"event":"close"} {"event":"done","tag":"…"}
// "text" is the part's short_message without its UDH, decoded by the smpp package's own
// coders (GSM 03.38 for data_coding 0, Latin-1 for 3, UCS-2 for 8).
//
// Commands, one JSON object a line on stdin (each may carry a "tag" that its events repeat):
//   {"cmd":"mo","from":"…","to":"…","text":"…","coding":0|3|8,"parts":N}  deliver_sm (split into
//        N concatenated parts with an 8-bit reference UDH when parts > 1)
//   {"cmd":"receipt","id":"…","from":"…","to":"…","stat":"DELIVRD","err":"000","tlv":true}
//        a delivery receipt (esm_class 0x04) for message id, with the receipted_message_id and
//        message_state TLVs when tlv is true
//   {"cmd":"throttle","n":N,"status":S,"nack":false}  answer the next N submit_sm with status S
//        (default ESME_RTHROTTLED), in a generic_nack instead of a submit_sm_resp when nack
//   {"cmd":"silent","on":true}  record submit_sm but answer none (nor enquire_link)
//   {"cmd":"drop"}  close every connection at once (without unbind)
//   {"cmd":"sync"}  nothing but its "done", written after every event before it
//   {"cmd":"request","command":"enquire_link"|"unbind"|"query_sm"|…,"params":{…}}  send any
//        request the smpp package knows to the bound ESME
'use strict';

const smpp = require('smpp');
const readline = require('readline');

const port = parseInt(process.env.SMSC_PORT || '2775', 10);
const systemID = process.env.SMSC_SYSTEM_ID || 'test';
const password = process.env.SMSC_PASSWORD || 'secret';
const idPrefix = process.env.SMSC_ID_PREFIX || 'm';

// Keep short_message of submit_sm undecoded: we record the bytes the ESME sent.
smpp.commands.submit_sm.params.short_message.filter = {
	encode: smpp.filters.message.encode,
	decode: (v) => v,
};

function emit(obj) {
	process.stdout.write(JSON.stringify(obj) + '\n');
}

const sessions = new Set();
let nextID = 1;
let throttle = {n: 0, status: smpp.ESME_RTHROTTLED};
let silent = false;
let moRef = 0;

function decodeText(buf, dataCoding) {
	switch (dataCoding & 0x0F) {
	case 0:
		return smpp.gsmCoder.decode(buf, 0);
	case 3:
		return smpp.encodings.LATIN1.decode(buf);
	case 8:
		return smpp.encodings.UCS2.decode(buf);
	default:
		return null;
	}
}

function splitUDH(buf, esmClass) {
	if (!(esmClass & 0x40) || buf.length === 0) {
		return {udh: null, body: buf};
	}
	const len = buf[0];
	const ies = buf.slice(1, 1 + len);
	let udh = null;
	for (let i = 0; i + 1 < ies.length;) {
		const iei = ies[i], l = ies[i + 1], v = ies.slice(i + 2, i + 2 + l);
		if (iei === 0x00 && l === 3) {
			udh = {ref: v[0], count: v[1], seq: v[2]};
		} else if (iei === 0x08 && l === 4) {
			udh = {ref: v.readUInt16BE(0), count: v[2], seq: v[3]};
		}
		i += 2 + l;
	}
	return {udh: udh, body: buf.slice(1 + len)};
}

const tlsOptions = process.env.SMSC_TLS_KEY ? {
	key: require('fs').readFileSync(process.env.SMSC_TLS_KEY),
	cert: require('fs').readFileSync(process.env.SMSC_TLS_CERT),
} : {};

const server = smpp.createServer(tlsOptions, function(session) {
	let bound = false;
	session.on('error', () => {});
	session.on('close', () => {
		sessions.delete(session);
		emit({event: 'close'});
	});
	const bind = (pdu) => {
		let status = 0;
		if (pdu.system_id !== systemID) {
			status = smpp.ESME_RINVSYSID;
		} else if (pdu.password !== password) {
			status = smpp.ESME_RINVPASWD;
		}
		emit({event: 'bind', command: pdu.command, system_id: pdu.system_id, status: status});
		if (status !== 0) {
			session.send(pdu.response({command_status: status}));
			session.close();
			return;
		}
		bound = true;
		sessions.add(session);
		session.send(pdu.response({system_id: 'smsc'}));
	};
	session.on('bind_transceiver', bind);
	session.on('bind_transmitter', bind);
	session.on('bind_receiver', bind);
	session.on('enquire_link', (pdu) => {
		emit({event: 'enquire_link'});
		if (!silent) {
			session.send(pdu.response());
		}
	});
	session.on('unbind', (pdu) => {
		emit({event: 'unbind'});
		session.send(pdu.response());
		session.close();
	});
	session.on('submit_sm', (pdu) => {
		if (!bound) {
			session.send(pdu.response({command_status: smpp.ESME_RINVBNDSTS}));
			return;
		}
		const sm = Buffer.isBuffer(pdu.short_message) ? pdu.short_message : Buffer.alloc(0);
		const parts = splitUDH(sm, pdu.esm_class);
		const rec = {
			event: 'submit', seq: pdu.sequence_number,
			source: pdu.source_addr, dest: pdu.destination_addr,
			source_ton: pdu.source_addr_ton, source_npi: pdu.source_addr_npi,
			dest_ton: pdu.dest_addr_ton, dest_npi: pdu.dest_addr_npi,
			data_coding: pdu.data_coding, esm_class: pdu.esm_class,
			registered_delivery: pdu.registered_delivery,
			short_message: sm.toString('hex'), udh: parts.udh,
			text: decodeText(parts.body, pdu.data_coding),
			message_id: null, status: null,
		};
		if (silent) {
			emit(rec);
			return;
		}
		if (throttle.n > 0) {
			throttle.n--;
			rec.status = throttle.status;
			emit(rec);
			if (throttle.nack) {
				session.send(new smpp.PDU('generic_nack', {sequence_number: pdu.sequence_number, command_status: throttle.status}));
			} else {
				session.send(pdu.response({command_status: throttle.status}));
			}
			return;
		}
		rec.status = 0;
		rec.message_id = idPrefix + (nextID++);
		emit(rec);
		session.send(pdu.response({message_id: rec.message_id}));
	});
	session.on('unknown', (pdu) => {
		session.send(pdu.response());
	});
});

// bound returns the most recently bound session, or reports the error.
function bound(tag) {
	const list = Array.from(sessions);
	if (list.length === 0) {
		emit({event: 'error', tag: tag, error: 'no bound session'});
		return null;
	}
	return list[list.length - 1];
}

function deliver(tag, opts) {
	const s = bound(tag);
	if (s) {
		s.deliver_sm(opts, (resp) => {
			emit({event: 'deliver_resp', tag: tag, status: resp.command_status});
		});
	}
}

function request(c) {
	const s = bound(c.tag);
	if (s) {
		s.send(new smpp.PDU(c.command, c.params || {}), (resp) => {
			emit({event: 'resp', tag: c.tag, command: resp.command, status: resp.command_status});
		});
	}
}

function encode(text, coding) {
	switch (coding) {
	case 3:
		return smpp.encodings.LATIN1.encode(text);
	case 8:
		return smpp.encodings.UCS2.encode(text);
	default:
		return smpp.gsmCoder.encode(text, 0);
	}
}

function mo(c) {
	const coding = c.coding || 0;
	const n = c.parts || 1;
	const chars = Array.from(c.text || '');
	const per = Math.ceil(chars.length / n);
	moRef = (moRef + 1) & 0xFF;
	for (let i = 0; i < n; i++) {
		const body = encode(chars.slice(i * per, (i + 1) * per).join(''), coding);
		let sm = body, esm = 0;
		if (n > 1) {
			sm = Buffer.concat([Buffer.from([5, 0, 3, moRef, n, i + 1]), body]);
			esm = 0x40;
		}
		deliver(c.tag, {
			source_addr: c.from || '', destination_addr: c.to || '',
			esm_class: esm, data_coding: coding, short_message: sm,
		});
	}
}

function receipt(c) {
	const now = new Date();
	const d = now.toISOString().replace(/[-T:]/g, '').slice(2, 12); // YYMMDDhhmm
	const stat = c.stat || 'DELIVRD';
	const text = 'id:' + c.id + ' sub:001 dlvrd:' + (stat === 'DELIVRD' ? '001' : '000') +
		' submit date:' + d + ' done date:' + d + ' stat:' + stat + ' err:' + (c.err || '000') +
		' text:' + (c.text || '');
	const opts = {
		source_addr: c.from || '', destination_addr: c.to || '',
		esm_class: 0x04, data_coding: 0, short_message: Buffer.from(text, 'latin1'),
	};
	if (c.tlv) {
		const states = {ENROUTE: 1, DELIVRD: 2, EXPIRED: 3, DELETED: 4, UNDELIV: 5, ACCEPTD: 6, UNKNOWN: 7, REJECTD: 8};
		opts.receipted_message_id = c.id;
		opts.message_state = states[stat] || 7;
	}
	deliver(c.tag, opts);
}

readline.createInterface({input: process.stdin}).on('line', (line) => {
	let c;
	try {
		c = JSON.parse(line);
	} catch (e) {
		emit({event: 'error', error: 'bad command: ' + e.message});
		return;
	}
	switch (c.cmd) {
	case 'mo':
		mo(c);
		break;
	case 'receipt':
		receipt(c);
		break;
	case 'throttle':
		throttle = {n: c.n || 0, status: 'status' in c ? c.status : smpp.ESME_RTHROTTLED, nack: !!c.nack};
		break;
	case 'silent':
		silent = !!c.on;
		break;
	case 'request':
		request(c);
		break;
	case 'sync': // only the "done" below: every event before it has been written
		break;
	case 'drop':
		for (const s of sessions) {
			s.destroy();
		}
		break;
	default:
		emit({event: 'error', tag: c.tag, error: 'unknown command ' + c.cmd});
		return;
	}
	emit({event: 'done', tag: c.tag});
}).on('close', () => process.exit(0));

server.listen(port, '127.0.0.1', () => emit({event: 'listening', port: port}));
