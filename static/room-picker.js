// The room control (templates/macros/forms.html, room_picker): the new room's name field is shown only while
// "New room…" is chosen. Without JavaScript both stay visible and the form works the same.
document.querySelectorAll("[data-room-picker]").forEach((picker) => {
  const select = picker.querySelector("select");
  const newRoom = picker.parentElement.querySelector("[data-new-room]");
  if (!select || !newRoom) return;
  const input = newRoom.querySelector("input");
  const sync = () => {
    const wanted = select.value === "new";
    newRoom.hidden = !wanted;
    if (input) input.required = wanted;
  };
  select.addEventListener("change", () => {
    sync();
    if (select.value === "new" && input) input.focus();
  });
  sync();
});
