// A placeholder until the web app's build replaces web/dist.
document.getElementById("app").dataset.placeholder = "true";
