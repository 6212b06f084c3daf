// Every label of the web manager, in English and French. French is first-class: its wording
// follows the product's French description (« Numéroter par nom », « Composer n° de poste »).

import { createContext } from "preact";
import { useContext } from "preact/hooks";
import type { DestinationRefusal, NoAnswerAction, NumberType, TargetKind } from "./types";

export type Lang = "en" | "fr";
export const LANGS: Lang[] = ["fr", "en"];
const STORAGE_KEY = "rcp.lang";
const NBSP = "\u00a0";

const en = {
  appName: "Receptionist",
  appSubtitle: "Web manager",
  language: "Language",
  langName: "English",
  skipToContent: "Skip to content",
  loading: "Loading…",
  saving: "Saving…",
  save: "Save",
  cancel: "Cancel",
  close: "Close",
  edit: "Edit",
  delete: "Delete",
  add: "Add",
  yes: "Yes",
  no: "No",
  none: "None",
  actions: "Actions",
  retry: "Retry",
  saved: "Saved.",
  required: "required",
  // sign-in
  signIn: "Sign in",
  signInButton: "Sign in",
  signInIntro:
    "Paste an admin token. A tenant token opens that tenant; a carrier token lets you choose the tenant.",
  token: "Admin token",
  tokenHint: "Get one with ./rcp token --tenant demo, or from your carrier.",
  signOut: "Sign out",
  badToken: "This token is unknown, revoked or expired.",
  emptyToken: "Paste a token.",
  chooseTenant: "Choose a tenant",
  chooseTenantIntro: "Your carrier token reaches every tenant. Choose the one to manage.",
  tenant: "Tenant",
  open: "Open",
  switchTenant: "Change tenant",
  noTenants: "There is no tenant yet.",
  suspended: "suspended",
  // navigation
  mainNav: "Sections",
  navReceptionist: "Receptionist",
  navSettings: "Settings",
  navDirectory: "Directory",
  navExtensions: "Extensions",
  navRingGroups: "Ring groups",
  navRooms: "Conference rooms",
  navVoicemail: "Voicemail",
  navCalls: "Call log",
  // keys
  keysTitle: "Key press assignments",
  keysIntro: "Each of the ten keys can dial by name, play an announcement or transfer the call. Click a key to change it.",
  key: (digit: string) => `Key ${digit}`,
  unassigned: "Unassigned",
  actionLabel: "Action",
  chooseAction: "Choose an action",
  dialByName: "Dial by name",
  playAnnouncement: "Play announcement",
  transferCall: "Transfer call",
  announcementBox: (words: string) => `Announcement: ${words}`,
  announcementFile: (name: string) => `Announcement: ${name}`,
  transferBox: (target: string) => `Transfer → ${target}`,
  announcementText: "Text of the announcement",
  announcementTextHint: "Read aloud by text-to-speech.",
  voiceLanguage: "Voice language",
  source: "Announcement source",
  sourceText: "Type the message (text-to-speech)",
  sourceFile: "Upload an audio file",
  audioFile: "Audio file",
  audioFileHint: "WAV, MP3, OGG, FLAC or M4A.",
  chooseFile: "Choose an audio file.",
  currentFile: (name: string) => `Current file: ${name}`,
  listen: "Listen",
  listenUnavailable: "Listening is not available: the media service does not answer yet.",
  uploadUnavailable: "Uploading audio is not available: the media service does not answer yet.",
  targetKind: "Transfer to",
  target: "Target",
  noTargets: "None of this kind yet: create one first.",
  chooseTarget: "Choose a target",
  clearKey: "Clear this key",
  keySaved: (digit: string, what: string) => `Key ${digit} saved: ${what}.`,
  keyCleared: (digit: string) => `Key ${digit} cleared.`,
  staleKeys: "The keys were changed elsewhere since you opened this page. They have been reloaded: check them, then save again.",
  staleSettings: "These settings were changed elsewhere. They have been reloaded: check them, then save again.",
  // greeting
  greetingTitle: "Greeting",
  greetingIntro: "What callers hear when the receptionist answers.",
  noGreeting: "No greeting: callers hear the menu straight away.",
  editGreeting: "Edit the greeting",
  greetingText: "Text of the greeting",
  removeGreeting: "Remove the greeting",
  greetingSaved: "Greeting saved.",
  greetingRemoved: "Greeting removed.",
  promptPending: "being prepared",
  promptFailed: "could not be prepared",
  // settings
  settingsTitle: "Settings",
  dialExtension: "Dial extension number",
  dialExtensionHint: "Callers may enter an extension number as soon as the receptionist answers.",
  receptionistLanguage: "Receptionist language",
  timeoutsAndRetries: "Timeouts and retries",
  menuTimeout: "Menu timeout (seconds)",
  interDigitTimeout: "Time between digits (seconds)",
  menuRetries: "Menu attempts",
  nameRetries: "Dial-by-name attempts",
  transferRing: "Transfer ring time (seconds)",
  exhausted: "After the last attempt",
  exhaustedHangup: "Say goodbye and hang up",
  exhaustedTo: (target: string) => `Transfer to ${target}`,
  settingsSaved: "Settings saved.",
  retentionTitle: "Personal data retention",
  retentionIntro:
    "Call records (callers' numbers) and voicemail messages are deleted automatically once they are older than this.",
  callRecordsDays: "Keep call records (days)",
  voicemailDays: "Keep voicemail messages (days)",
  saveRetention: "Update retention",
  retentionSaved: "Retention saved.",
  customizeDirectory: "Customize directory settings",
  // directory
  directoryTitle: "Customize directory settings",
  directoryIntro: "Choose, for each extension, whether callers can reach it by dialling its number or by spelling its name.",
  reachableByExtension: "Dial extension number",
  reachableByName: "Dial by name",
  directorySaved: "Directory settings saved.",
  nothingToSave: "Nothing has changed.",
  noExtensions: "No extension yet.",
  backToSettings: "Back to settings",
  unsavedChanges: (count: number) => (count === 1 ? "1 extension changed, not saved yet." : `${count} extensions changed, not saved yet.`),
  // extensions
  extensionsTitle: "Extensions",
  addExtension: "Add an extension",
  editExtension: (number: string) => `Edit extension ${number}`,
  number: "Number",
  kind: "Kind",
  physical: "Extension",
  virtual: "Virtual extension",
  firstName: "First name",
  lastName: "Last name",
  name: "Name",
  device: "Device",
  deviceHint: "The phone it rings: one of the devices your carrier provisioned.",
  chooseDevice: "Choose a device",
  noDevices: "Your carrier has not provisioned any device yet: ask them for one.",
  deviceChoice: (name: string, endpoint: string) => `${name} (${endpoint})`,
  legacyDialString: (dial: string) => `Saved before devices: ${dial}. Choose a device to replace it.`,
  notAllowed: "Not allowed by your carrier's policy",
  notAllowedHint: "Saved, but callers hear that this number cannot be reached.",
  numberTypes: {
    fixed_line: "fixed line",
    mobile: "mobile",
    fixed_line_or_mobile: "fixed line or mobile",
    toll_free: "toll free",
    premium_rate: "premium rate",
    shared_cost: "shared cost",
    voip: "VoIP",
    personal_number: "personal",
    pager: "pager",
    uan: "universal access (UAN)",
    voicemail: "voicemail access",
    unknown: "unknown type",
  } as Record<NumberType, string>,
  refusal(details: DestinationRefusal): string {
    switch (details.refusal) {
      case "denied_prefix":
        return `Numbers beginning ${details.prefix ?? ""} are not allowed by your carrier's policy.`;
      case "invalid_number":
        return "This is not a valid phone number.";
      case "non_geographic":
        return "Satellite and international network numbers are not allowed by your carrier's policy.";
      case "international":
        return `Numbers of ${details.country ?? "that country"} are not allowed by your carrier's policy.`;
      default:
        return `${capitalize(this.numberTypes[details.number_type] ?? details.number_type)} numbers are not allowed by your carrier's policy.`;
    }
  },
  externalNumber: "Outside number",
  externalNumberHint: "E.164, e.g. +33612345678.",
  voicemailEnabled: "Voicemail",
  destination: "Rings",
  extensionSaved: (number: string) => `Extension ${number} saved.`,
  extensionDeleted: (number: string) => `Extension ${number} deleted.`,
  confirmDelete: (what: string) => `Delete ${what}?`,
  confirmDeleteTitle: "Confirm deletion",
  extensionNoun: (number: string) => `extension ${number}`,
  // ring groups
  ringGroupsTitle: "Ring groups",
  addRingGroup: "Add a ring group",
  editRingGroup: (number: string) => `Edit ring group ${number}`,
  strategy: "Ringing",
  simultaneous: "All at once",
  sequential: "One after another",
  ringSeconds: "Ring time (seconds)",
  members: "Members",
  noMembers: "No member",
  noAnswer: "When nobody answers",
  noAnswerActions: {
    menu: "Back to the menu",
    hangup: "Hang up",
    voicemail: "Voicemail of an extension",
    extension: "Transfer to an extension",
  } as Record<NoAnswerAction, string>,
  noAnswerVoicemail: (target: string) => `Voicemail of ${target}`,
  noAnswerTransfer: (target: string) => `Transfer to ${target}`,
  noAnswerExtension: "Extension",
  ringGroupSaved: (number: string) => `Ring group ${number} saved.`,
  ringGroupDeleted: (number: string) => `Ring group ${number} deleted.`,
  ringGroupNoun: (number: string) => `ring group ${number}`,
  noRingGroups: "No ring group yet.",
  // rooms
  roomsTitle: "Conference rooms",
  addRoom: "Add a conference room",
  editRoom: (number: string) => `Edit conference room ${number}`,
  pin: "PIN",
  askPin: "Ask callers for a PIN",
  pinHint: "4 to 12 digits (6 suggested); callers type it, then #. It is never shown again: note it now.",
  pinKeepHint: "Leave empty to keep the current PIN; 4 to 12 digits to change it.",
  pinTooShort: "PIN too short: set one of 4 digits or more",
  roomSaved: (number: string) => `Conference room ${number} saved.`,
  roomDeleted: (number: string) => `Conference room ${number} deleted.`,
  roomNoun: (number: string) => `conference room ${number}`,
  noRooms: "No conference room yet.",
  // voicemail
  voicemailTitle: "Voicemail",
  noVoicemail: "No voicemail message.",
  receivedAt: "Received",
  forExtension: "For",
  caller: "Caller",
  duration: "Duration",
  status: "Status",
  statusNew: "New",
  statusRead: "Read",
  unknownCaller: "Unknown",
  messageDeleted: "Message deleted.",
  messageNoun: "this message",
  // calls
  callsTitle: "Call log",
  noCalls: "No call recorded.",
  outcome: "Outcome",
  allOutcomes: "All",
  started: "Started",
  called: "Number called",
  older: "Older calls",
  outcomes: {
    transferred: "Transferred",
    voicemail: "Voicemail",
    conference: "Conference",
    announcement: "Announcement",
    caller_hangup: "Caller hung up",
    no_input: "No input",
    invalid_input: "Invalid input",
    failed: "Failed",
  } as Record<string, string>,
  inProgress: "In progress",
  // target kinds
  targetKinds: {
    extension: "Extension",
    virtual_extension: "Virtual extension",
    ring_group: "Ring group",
    conference: "Conference room",
    voicemail: "Voicemail of an extension",
  } as Record<TargetKind, string>,
  // errors
  formHasErrors: "The form has errors: see the highlighted fields.",
  networkError: "The server cannot be reached. Check your connection and try again.",
  loadFailed: "This page could not be loaded.",
  errorByCode: {
    dial_string_not_allowed: "Choose one of the devices your carrier provisioned, not a dial string.",
    unknown_device: "Your company has no such device: choose one from the list.",
  } as Record<string, string>,
  // The API's own words, except the few generic ones of its validation library.
  serverMessages: {
    "String should have at least 1 character": "This field cannot be empty.",
    "String should match pattern '^[0-9]{4,12}$'": "A PIN is 4 to 12 digits.",
    "Input should be a valid integer, unable to parse string as an integer": "Enter a whole number.",
    "Input should be a valid integer": "Enter a whole number.",
  } as Record<string, string>,
};

export type Messages = typeof en;

const fr: Messages = {
  appName: "Réceptionniste",
  appSubtitle: "Gestionnaire web",
  language: "Langue",
  langName: "Français",
  skipToContent: "Aller au contenu",
  loading: "Chargement…",
  saving: "Enregistrement…",
  save: "Enregistrer",
  cancel: "Annuler",
  close: "Fermer",
  edit: "Modifier",
  delete: "Supprimer",
  add: "Ajouter",
  yes: "Oui",
  no: "Non",
  none: "Aucun",
  actions: "Actions",
  retry: "Réessayer",
  saved: "Enregistré.",
  required: "obligatoire",
  signIn: "Connexion",
  signInButton: "Se connecter",
  signInIntro:
    "Collez un jeton d’administration. Un jeton d’entreprise ouvre son espace ; un jeton d’opérateur permet de choisir l’entreprise.",
  token: "Jeton d’administration",
  tokenHint: "Obtenez-en un avec ./rcp token --tenant demo, ou auprès de votre opérateur.",
  signOut: "Se déconnecter",
  badToken: "Ce jeton est inconnu, révoqué ou expiré.",
  emptyToken: "Collez un jeton.",
  chooseTenant: "Choisir l’entreprise",
  chooseTenantIntro: "Votre jeton d’opérateur donne accès à toutes les entreprises. Choisissez celle à gérer.",
  tenant: "Entreprise",
  open: "Ouvrir",
  switchTenant: "Changer d’entreprise",
  noTenants: "Aucune entreprise pour l’instant.",
  suspended: "suspendue",
  mainNav: "Rubriques",
  navReceptionist: "Réceptionniste",
  navSettings: "Paramètres",
  navDirectory: "Annuaire",
  navExtensions: "Postes",
  navRingGroups: "Groupes d’appels",
  navRooms: "Salles de conférence",
  navVoicemail: "Messagerie vocale",
  navCalls: "Journal des appels",
  keysTitle: "Attributions de pression de touche",
  keysIntro:
    "Chacune des dix touches peut numéroter par nom, jouer une annonce ou transférer l’appel. Cliquez sur une touche pour la modifier.",
  key: (digit) => `Touche ${digit}`,
  unassigned: "Non attribuée",
  actionLabel: "Action",
  chooseAction: "Choisir une action",
  dialByName: "Numéroter par nom",
  playAnnouncement: "Jouer annonce",
  transferCall: "Transférer appel",
  announcementBox: (words) => `Annonce${NBSP}: ${words}`,
  announcementFile: (name) => `Annonce${NBSP}: ${name}`,
  transferBox: (target) => `Transfert → ${target}`,
  announcementText: "Texte de l’annonce",
  announcementTextHint: "Lu à voix haute par la synthèse vocale (texte-vers-parole).",
  voiceLanguage: "Langue de la voix",
  source: "Source de l’annonce",
  sourceText: "Saisir le message (texte-vers-parole)",
  sourceFile: "Charger un fichier audio",
  audioFile: "Fichier audio",
  audioFileHint: "WAV, MP3, OGG, FLAC ou M4A.",
  chooseFile: "Choisissez un fichier audio.",
  currentFile: (name) => `Fichier actuel${NBSP}: ${name}`,
  listen: "Écouter",
  listenUnavailable: "L’écoute n’est pas disponible : le service média ne répond pas encore.",
  uploadUnavailable: "L’envoi de fichiers audio n’est pas disponible : le service média ne répond pas encore.",
  targetKind: "Transférer vers",
  target: "Destination",
  noTargets: "Aucune destination de ce type : créez-en une d’abord.",
  chooseTarget: "Choisir une destination",
  clearKey: "Libérer la touche",
  keySaved: (digit, what) => `Touche ${digit} enregistrée${NBSP}: ${what}.`,
  keyCleared: (digit) => `Touche ${digit} libérée.`,
  staleKeys:
    "Les touches ont été modifiées ailleurs depuis l’ouverture de cette page. Elles ont été rechargées : vérifiez-les, puis enregistrez à nouveau.",
  staleSettings:
    "Ces paramètres ont été modifiés ailleurs. Ils ont été rechargés : vérifiez-les, puis enregistrez à nouveau.",
  greetingTitle: "Message d’accueil",
  greetingIntro: "Ce que les appelants entendent quand le réceptionniste décroche.",
  noGreeting: "Aucun message d’accueil : les appelants entendent directement le menu.",
  editGreeting: "Modifier le message d’accueil",
  greetingText: "Texte du message d’accueil",
  removeGreeting: "Supprimer le message d’accueil",
  greetingSaved: "Message d’accueil enregistré.",
  greetingRemoved: "Message d’accueil supprimé.",
  promptPending: "en préparation",
  promptFailed: "n’a pas pu être préparé",
  settingsTitle: "Paramètres",
  dialExtension: "Composer n° de poste",
  dialExtensionHint: "Les appelants peuvent saisir un numéro de poste dès que le réceptionniste décroche.",
  receptionistLanguage: "Langue du réceptionniste",
  timeoutsAndRetries: "Délais et nouvelles tentatives",
  menuTimeout: "Délai d’attente du menu (secondes)",
  interDigitTimeout: "Délai entre deux chiffres (secondes)",
  menuRetries: "Nombre d’essais au menu",
  nameRetries: "Nombre d’essais de la recherche par nom",
  transferRing: "Durée de sonnerie d’un transfert (secondes)",
  exhausted: "Après le dernier essai",
  exhaustedHangup: "Dire au revoir et raccrocher",
  exhaustedTo: (target) => `Transférer au poste ${target}`,
  settingsSaved: "Paramètres enregistrés.",
  retentionTitle: "Conservation des données personnelles",
  retentionIntro:
    "Le journal des appels (numéros des appelants) et les messages vocaux sont supprimés automatiquement au-delà de cette durée.",
  callRecordsDays: "Conserver le journal des appels (jours)",
  voicemailDays: "Conserver les messages vocaux (jours)",
  saveRetention: "Mettre à jour la conservation",
  retentionSaved: "Durées de conservation enregistrées.",
  customizeDirectory: "Personnaliser paramètres de l’annuaire",
  directoryTitle: "Personnaliser paramètres de l’annuaire",
  directoryIntro:
    "Choisissez pour chaque poste si les appelants peuvent le joindre en composant son numéro ou en épelant son nom.",
  reachableByExtension: "Composer n° de poste",
  reachableByName: "Composer nom",
  directorySaved: "Paramètres de l’annuaire enregistrés.",
  nothingToSave: "Aucune modification.",
  noExtensions: "Aucun poste pour l’instant.",
  backToSettings: "Retour aux paramètres",
  unsavedChanges: (count) =>
    count === 1 ? "1 poste modifié, pas encore enregistré." : `${count} postes modifiés, pas encore enregistrés.`,
  extensionsTitle: "Postes",
  addExtension: "Ajouter un poste",
  editExtension: (number) => `Modifier le poste ${number}`,
  number: "Numéro",
  kind: "Type",
  physical: "Poste physique",
  virtual: "Poste virtuel",
  firstName: "Prénom",
  lastName: "Nom",
  name: "Nom",
  device: "Appareil",
  deviceHint: "Le téléphone qu’il fait sonner : l’un des appareils fournis par votre opérateur.",
  chooseDevice: "Choisir un appareil",
  noDevices: "Votre opérateur ne vous a encore fourni aucun appareil : demandez-lui-en un.",
  deviceChoice: (name, endpoint) => `${name} (${endpoint})`,
  legacyDialString: (dial) => `Enregistré avant les appareils : ${dial}. Choisissez un appareil pour le remplacer.`,
  notAllowed: "Non autorisé par la politique de votre opérateur",
  notAllowedHint: "Enregistré, mais les appelants entendent que ce numéro ne peut pas être joint.",
  numberTypes: {
    fixed_line: "fixes",
    mobile: "mobiles",
    fixed_line_or_mobile: "fixes ou mobiles",
    toll_free: "gratuits",
    premium_rate: "surtaxés",
    shared_cost: "à coût partagé",
    voip: "VoIP",
    personal_number: "personnels",
    pager: "de radiomessagerie",
    uan: "universels (UAN)",
    voicemail: "d’accès à une messagerie",
    unknown: "de type inconnu",
  },
  refusal(details) {
    switch (details.refusal) {
      case "denied_prefix":
        return `Les numéros commençant par ${details.prefix ?? ""} ne sont pas autorisés par la politique de votre opérateur.`;
      case "invalid_number":
        return "Ce numéro de téléphone n’est pas valide.";
      case "non_geographic":
        return "Les numéros satellites et de réseaux internationaux ne sont pas autorisés par la politique de votre opérateur.";
      case "international":
        return `Les numéros de ce pays (${details.country ?? "?"}) ne sont pas autorisés par la politique de votre opérateur.`;
      default:
        return `Les numéros ${this.numberTypes[details.number_type] ?? details.number_type} ne sont pas autorisés par la politique de votre opérateur.`;
    }
  },
  externalNumber: "Numéro extérieur",
  externalNumberHint: "Au format E.164, par exemple +33612345678.",
  voicemailEnabled: "Messagerie vocale",
  destination: "Fait sonner",
  extensionSaved: (number) => `Poste ${number} enregistré.`,
  extensionDeleted: (number) => `Poste ${number} supprimé.`,
  confirmDelete: (what) => `Supprimer ${what}${NBSP}?`,
  confirmDeleteTitle: "Confirmer la suppression",
  extensionNoun: (number) => `le poste ${number}`,
  ringGroupsTitle: "Groupes d’appels",
  addRingGroup: "Ajouter un groupe d’appels",
  editRingGroup: (number) => `Modifier le groupe d’appels ${number}`,
  strategy: "Sonnerie",
  simultaneous: "Tous en même temps",
  sequential: "L’un après l’autre",
  ringSeconds: "Durée de sonnerie (secondes)",
  members: "Membres",
  noMembers: "Aucun membre",
  noAnswer: "Si personne ne répond",
  noAnswerActions: {
    menu: "Retour au menu",
    hangup: "Raccrocher",
    voicemail: "Messagerie d’un poste",
    extension: "Transférer à un poste",
  },
  noAnswerVoicemail: (target) => `Messagerie du poste ${target}`,
  noAnswerTransfer: (target) => `Transfert au poste ${target}`,
  noAnswerExtension: "Poste",
  ringGroupSaved: (number) => `Groupe d’appels ${number} enregistré.`,
  ringGroupDeleted: (number) => `Groupe d’appels ${number} supprimé.`,
  ringGroupNoun: (number) => `le groupe d’appels ${number}`,
  noRingGroups: "Aucun groupe d’appels pour l’instant.",
  roomsTitle: "Salles de conférence",
  addRoom: "Ajouter une salle de conférence",
  editRoom: (number) => `Modifier la salle de conférence ${number}`,
  pin: "Code PIN",
  askPin: "Demander un code PIN aux appelants",
  pinHint: "4 à 12 chiffres (6 conseillés), suivis de la touche dièse. Il ne sera plus jamais affiché : notez-le maintenant.",
  pinKeepHint: "Laissez vide pour garder le code actuel ; 4 à 12 chiffres pour le changer.",
  pinTooShort: "Code PIN trop court : choisissez-en un de 4 chiffres ou plus",
  roomSaved: (number) => `Salle de conférence ${number} enregistrée.`,
  roomDeleted: (number) => `Salle de conférence ${number} supprimée.`,
  roomNoun: (number) => `la salle de conférence ${number}`,
  noRooms: "Aucune salle de conférence pour l’instant.",
  voicemailTitle: "Messagerie vocale",
  noVoicemail: "Aucun message vocal.",
  receivedAt: "Reçu le",
  forExtension: "Pour",
  caller: "Appelant",
  duration: "Durée",
  status: "État",
  statusNew: "Nouveau",
  statusRead: "Écouté",
  unknownCaller: "Inconnu",
  messageDeleted: "Message supprimé.",
  messageNoun: "ce message",
  callsTitle: "Journal des appels",
  noCalls: "Aucun appel enregistré.",
  outcome: "Issue",
  allOutcomes: "Toutes",
  started: "Début",
  called: "Numéro appelé",
  older: "Appels plus anciens",
  outcomes: {
    transferred: "Transféré",
    voicemail: "Messagerie vocale",
    conference: "Conférence",
    announcement: "Annonce",
    caller_hangup: "L’appelant a raccroché",
    no_input: "Aucune saisie",
    invalid_input: "Saisie invalide",
    failed: "Échec",
  },
  inProgress: "En cours",
  targetKinds: {
    extension: "Poste physique",
    virtual_extension: "Poste virtuel",
    ring_group: "Groupe d’appels",
    conference: "Serveur de conférence",
    voicemail: "Messagerie du poste",
  },
  formHasErrors: "Le formulaire contient des erreurs : voyez les champs signalés.",
  networkError: "Le serveur ne répond pas. Vérifiez votre connexion puis réessayez.",
  loadFailed: "Cette page n’a pas pu être chargée.",
  // The API answers in English; the codes and messages French users meet most are translated.
  errorByCode: {
    number_in_use: "Ce numéro est déjà utilisé dans le plan de numérotation de l’entreprise.",
    unknown_target: "Cette destination n’existe pas ou n’est pas du bon type.",
    rate_limited: "Trop de requêtes : patientez quelques secondes puis réessayez.",
    payload_too_large: "Le fichier est trop volumineux.",
    unsupported_media_type: "Ce type de fichier n’est pas accepté.",
    forbidden: "Ce jeton ne permet pas cette opération.",
    dial_string_not_allowed: "Choisissez l’un des appareils fournis par votre opérateur, pas une chaîne de numérotation.",
    unknown_device: "Votre entreprise n’a pas cet appareil : choisissez-en un dans la liste.",
    unauthorized: "Ce jeton est inconnu, révoqué ou expiré.",
    internal: "Erreur interne du serveur. Réessayez plus tard.",
  },
  serverMessages: {
    "this field is required": "Ce champ est obligatoire.",
    "String should have at least 1 character": "Ce champ ne peut pas être vide.",
    "a number here is 2 to 10 digits": "Un numéro compte ici de 2 à 10 chiffres.",
    "not an E.164 number: +, country code, number; digits only":
      "Ce n’est pas un numéro E.164 : +, indicatif du pays, numéro ; chiffres uniquement.",
    "say which action: dial_by_name, play_announcement or transfer": "Choisissez une action.",
    "unknown action: use dial_by_name, play_announcement or transfer": "Choisissez une action.",
    "give either prompt (text to speak) or prompt_id": "Saisissez le texte de l’annonce ou choisissez un fichier audio.",
    "a physical extension needs a device: choose one of the tenant's devices":
      "Un poste physique a besoin d’un appareil : choisissez-en un.",
    "a virtual extension needs an external_number (E.164)":
      "Un poste virtuel a besoin d’un numéro extérieur (E.164).",
    "an extension needs a first or a last name": "Un poste a besoin d’un prénom ou d’un nom.",
    "this number is already used in the tenant's numbering plan":
      "Ce numéro est déjà utilisé dans le plan de numérotation de l’entreprise.",
    "String should match pattern '^[0-9]{4,12}$'": "Le code PIN compte de 4 à 12 chiffres.",
    "Input should be greater than or equal to 1": "La valeur doit être au moins 1.",
    "Input should be greater than or equal to 5": "La valeur doit être au moins 5.",
    "Input should be less than or equal to 10": "La valeur doit être au plus 10.",
    "Input should be less than or equal to 20": "La valeur doit être au plus 20.",
    "Input should be less than or equal to 60": "La valeur doit être au plus 60.",
    "Input should be less than or equal to 300": "La valeur doit être au plus 300.",
    "Input should be a valid integer, unable to parse string as an integer": "Saisissez un nombre entier.",
    "Input should be a valid integer": "Saisissez un nombre entier.",
  },
};

const MESSAGES: Record<Lang, Messages> = { en, fr };

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export function messages(lang: Lang): Messages {
  return MESSAGES[lang];
}

/** The language to start with: the one chosen before, else the browser's first known one. */
export function initialLang(): Lang {
  const stored = safeStorage()?.getItem(STORAGE_KEY);
  if (stored === "en" || stored === "fr") return stored;
  for (const tag of navigator.languages ?? [navigator.language]) {
    const base = tag.toLowerCase().split("-")[0];
    if (base === "fr" || base === "en") return base;
  }
  return "en";
}

export function rememberLang(lang: Lang): void {
  safeStorage()?.setItem(STORAGE_KEY, lang);
  document.documentElement.lang = lang;
}

function safeStorage(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null; // storage refused (private mode, policy): the choice lasts the page
  }
}

export interface I18n {
  lang: Lang;
  t: Messages;
  setLang: (lang: Lang) => void;
}

export const I18nContext = createContext<I18n>({ lang: "en", t: en, setLang: () => undefined });

export function useI18n(): I18n {
  return useContext(I18nContext);
}
