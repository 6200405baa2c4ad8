// Reads iCalendar text on stdin with ical.js (the parser inside Thunderbird) and prints, as JSON, what a
// client would take from every VEVENT: instants as UTC seconds, text, UID, SEQUENCE, STATUS.
// Used by tests/test_calendar_parsers.py; time zones come from the calendar's own VTIMEZONE blocks.
import ICAL from "ical.js";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const root = new ICAL.Component(ICAL.parse(Buffer.concat(chunks).toString("utf8")));
const text = (component, name) => {
  const value = component.getFirstPropertyValue(name);
  return value === null ? null : String(value);
};
const events = root.getAllSubcomponents("vevent").map((vevent) => {
  const event = new ICAL.Event(vevent);
  return {
    uid: event.uid,
    summary: event.summary,
    description: event.description,
    location: event.location,
    status: text(vevent, "status"),
    sequence: vevent.getFirstPropertyValue("sequence"),
    url: text(vevent, "url"),
    start: event.startDate ? event.startDate.toUnixTime() : null,
    end: event.endDate ? event.endDate.toUnixTime() : null,
  };
});
process.stdout.write(JSON.stringify({ method: text(root, "method"), events }));
