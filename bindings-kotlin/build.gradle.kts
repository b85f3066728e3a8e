// Builds the OnyxChat Android library (AAR): libchat_ffi.so per ABI (cargo-ndk, linked for 16 KB pages by
// chat-ffi/build.rs), the uniffi-generated Kotlin bindings, the platform-neutral Kotlin layer in
// src/main/kotlin and the Android-only wiring in src/android/kotlin; publishes it with sources, javadoc,
// a complete POM and (when a key is given) signatures.

import org.jetbrains.kotlin.gradle.dsl.JvmTarget
import org.jetbrains.kotlin.gradle.tasks.KotlinCompile

plugins {
    alias(libs.plugins.android.library)
    alias(libs.plugins.kotlin.android)
    `maven-publish`
    signing
}

val libraryVersion: String = providers.gradleProperty("VERSION_NAME").get()

// One version for every artifact: VERSION_NAME must equal `[workspace.package] version` in ../Cargo.toml.
run {
    val cargoVersion = Regex("""(?ms)^\[workspace\.package\].*?^version\s*=\s*"([^"]+)"""")
        .find(rootDir.parentFile.resolve("Cargo.toml").readText())?.groupValues?.get(1)
    check(cargoVersion == libraryVersion) {
        "VERSION_NAME=$libraryVersion in gradle.properties differs from the workspace version $cargoVersion in ../Cargo.toml"
    }
}

// The Rust workspace (Cargo.toml, Cargo.lock, the crates) is the parent of this directory.
val cargoWorkspace: File = rootDir.parentFile
// Any profile of ../Cargo.toml: `release` (default) or e.g. `dev` for quicker, unoptimised builds.
val cargoProfile: String = providers.gradleProperty("onyxchat.cargoProfile").getOrElse("release")
val rustAbis = listOf("arm64-v8a", "armeabi-v7a", "x86_64")
val androidMinSdk = 24

val jniLibsDir: File = layout.buildDirectory.dir("rust/jniLibs").get().asFile
val uniffiKotlinDir: File = layout.buildDirectory.dir("generated/uniffi/kotlin").get().asFile

android {
    namespace = "com.onyxchat"
    compileSdk = 35

    defaultConfig {
        minSdk = androidMinSdk
        consumerProguardFiles("consumer-rules.pro")
    }

    buildTypes {
        release {
            isMinifyEnabled = false
        }
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
        // Times are java.time.Instant, which Android has natively only from API 26: below that
        // (minSdk 24) core library desugaring supplies java.time. Apps with minSdk < 26 enable it too.
        isCoreLibraryDesugaringEnabled = true
    }

    // src/main/kotlin is a default source dir (platform-neutral: also compiled and tested on the JVM by
    // `cargo xtask kotlin-test`); src/android/kotlin holds what needs Android (lifecycle, connectivity,
    // androidx ViewModels) and is compiled only here. src/jvmTest is deliberately not part of any source
    // set (those tests are run by `cargo xtask test`, not by Gradle).
    sourceSets.getByName("main") {
        jniLibs.srcDir(jniLibsDir)
        kotlin.srcDir(uniffiKotlinDir)
        kotlin.srcDir("src/android/kotlin")
    }

    publishing {
        singleVariant("release") {
            withSourcesJar()
            withJavadocJar()
        }
    }
}

kotlin {
    compilerOptions {
        jvmTarget = JvmTarget.JVM_17
    }
}

dependencies {
    // java.time (Instant) on API 24-25; see compileOptions.
    coreLibraryDesugaring(libs.desugar.jdk.libs)
    // The generated bindings reach libchat_ffi.so through JNA; its AAR carries libjnidispatch.so per ABI.
    // `api`: public generated types (e.g. RustBuffer) extend JNA classes.
    api(libs.jna) {
        artifact { type = "aar" }
    }
    // `api`: the public API returns Flow/StateFlow.
    api(libs.kotlinx.coroutines.core)
    implementation(libs.kotlinx.coroutines.android)
    // src/android: ProcessLifecycleOwner; `api` because the ViewModel wrappers extend androidx's ViewModel.
    implementation(libs.androidx.lifecycle.process)
    api(libs.androidx.lifecycle.viewmodel)
}

// Native libraries: build/rust/jniLibs/<abi>/libchat_ffi.so, picked up by the jniLibs source dir above.
val buildRustLibraries by tasks.registering(Exec::class) {
    group = "onyxchat"
    description = "Builds libchat_ffi.so for ${rustAbis.joinToString()} with cargo-ndk."

    listOf("chat-core", "chat-ffi", "chat-protocol").forEach { crate ->
        inputs.dir(cargoWorkspace.resolve("$crate/src")).withPathSensitivity(PathSensitivity.RELATIVE)
        inputs.file(cargoWorkspace.resolve("$crate/Cargo.toml")).withPathSensitivity(PathSensitivity.RELATIVE)
    }
    inputs.files(cargoWorkspace.resolve("Cargo.toml"), cargoWorkspace.resolve("Cargo.lock"))
        .withPathSensitivity(PathSensitivity.RELATIVE)
    inputs.property("cargoProfile", cargoProfile)
    inputs.property("abis", rustAbis)
    outputs.dir(jniLibsDir)

    workingDir = cargoWorkspace
    commandLine(
        buildList {
            addAll(listOf("cargo", "ndk"))
            rustAbis.forEach { addAll(listOf("--target", it)) }
            addAll(listOf("--platform", androidMinSdk.toString(), "--output-dir", jniLibsDir.absolutePath))
            addAll(listOf("build", "--profile", cargoProfile, "--package", "chat-ffi", "--locked"))
        },
    )
}

// Kotlin bindings: build/generated/uniffi/kotlin/<package dirs>/chat_ffi.kt, read from the arm64-v8a
// library (uniffi's library mode reads any ABI); package and library name come from chat-ffi/uniffi.toml.
val generateUniffiKotlin by tasks.registering(Exec::class) {
    group = "onyxchat"
    description = "Generates the uniffi Kotlin bindings of libchat_ffi.so."
    dependsOn(buildRustLibraries)

    val library = jniLibsDir.resolve("arm64-v8a/libchat_ffi.so")
    val outDir = uniffiKotlinDir
    inputs.file(library).withPathSensitivity(PathSensitivity.NONE)
    inputs.files(cargoWorkspace.resolve("chat-ffi/uniffi.toml"), cargoWorkspace.resolve("Cargo.lock"))
        .withPathSensitivity(PathSensitivity.RELATIVE)
    outputs.dir(outDir)

    // Start from an empty directory so that no stale file survives a rename.
    doFirst { outDir.deleteRecursively() }
    workingDir = cargoWorkspace
    commandLine(
        "cargo", "run", "--locked", "--package", "uniffi-bindgen", "--",
        "generate", "--library", library.absolutePath,
        "--language", "kotlin", "--out-dir", outDir.absolutePath, "--no-format",
    )
}

// Every variant task depends on preBuild; the Kotlin compile tasks are wired directly as well.
tasks.named("preBuild") { dependsOn(generateUniffiKotlin) }
tasks.withType<KotlinCompile>().configureEach { dependsOn(generateUniffiKotlin) }

// AGP creates the `release` software component only after evaluation.
afterEvaluate {
    publishing {
        publications {
            create<MavenPublication>("release") {
                from(components["release"])
                groupId = "com.onyxchat"
                artifactId = "onyxchat-android"
                version = libraryVersion

                pom {
                    name = "OnyxChat for Android"
                    description = "OnyxChat offline-first chat SDK for Android: a Kotlin API over the Rust core."
                    url = "https://github.com/onyxchat/onyxchat"
                    inceptionYear = "2026"
                    licenses {
                        license {
                            name = "Apache-2.0"
                            url = "https://www.apache.org/licenses/LICENSE-2.0.txt"
                            distribution = "repo"
                        }
                    }
                    developers {
                        developer {
                            id = "onyxchat"
                            name = "The OnyxChat developers"
                            url = "https://github.com/onyxchat"
                        }
                    }
                    scm {
                        url = "https://github.com/onyxchat/onyxchat"
                        connection = "scm:git:https://github.com/onyxchat/onyxchat.git"
                        developerConnection = "scm:git:ssh://git@github.com/onyxchat/onyxchat.git"
                    }
                    issueManagement {
                        system = "GitHub"
                        url = "https://github.com/onyxchat/onyxchat/issues"
                    }
                }
            }
        }
        repositories {
            // `./gradlew publishReleasePublicationToLocalRepository`: a Maven repository in build/repo, to
            // inspect what a release would upload (the release workflow adds the real repository).
            maven {
                name = "local"
                url = uri(layout.buildDirectory.dir("repo"))
            }
        }
    }

    // Signing with an in-memory ASCII-armoured key from Gradle properties (or the environment as
    // ORG_GRADLE_PROJECT_signingInMemoryKey, …KeyId, …KeyPassword). Without a key nothing is signed,
    // so local publications work; the release workflow sets the key.
    val signingKey = providers.gradleProperty("signingInMemoryKey").orNull
    signing {
        isRequired = signingKey != null
        if (signingKey != null) {
            useInMemoryPgpKeys(
                providers.gradleProperty("signingInMemoryKeyId").orNull,
                signingKey,
                providers.gradleProperty("signingInMemoryKeyPassword").orNull,
            )
            sign(publishing.publications["release"])
        }
    }
}
