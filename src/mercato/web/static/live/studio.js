// The LIVE console home: the browser's time zone goes with a scheduled time; copy buttons for keys.
const offset = document.getElementById("tz-offset");
if (offset) offset.value = String(new Date().getTimezoneOffset());
document.querySelectorAll("[data-copy]").forEach((button) => {
  button.addEventListener("click", async () => {
    const input = document.getElementById(button.dataset.copy);
    input.select();
    try { await navigator.clipboard.writeText(input.value); button.textContent = "Copied ✓"; } catch { /* selected: copy by hand */ }
  });
});
