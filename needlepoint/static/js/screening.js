// "None of these apply": one click answers every question of its section "No" and clears the section's
// details; answering "Yes" to a question unticks it. The server applies the same rule without this script.
document.addEventListener("DOMContentLoaded", () => {
  for (const section of document.querySelectorAll("#screening-form fieldset[data-section]")) {
    const noneApply = section.querySelector(".none-apply input[type=checkbox]");
    if (!noneApply) continue;
    noneApply.addEventListener("change", () => {
      if (!noneApply.checked) return;
      for (const radio of section.querySelectorAll("input[type=radio][value=no]")) radio.checked = true;
      for (const detail of section.querySelectorAll(".detail input, .detail select")) detail.value = "";
    });
    for (const yes of section.querySelectorAll("input[type=radio][value=yes]")) {
      yes.addEventListener("change", () => {
        if (yes.checked) noneApply.checked = false;
      });
    }
  }
});
